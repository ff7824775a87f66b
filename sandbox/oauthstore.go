package sandbox

import (
	"context"
	"crypto/sha256"
	"slices"
	"sync"
	"time"

	"github.com/ory/fosite"
)

// maxGrants bounds what one vendor's authorization server remembers of
// each kind (codes, refresh tokens, access tokens): past it the oldest is
// forgotten, so a long run of token calls cannot grow the sandbox without
// end. A forgotten code or refresh token is refused as unknown.
const maxGrants = 20000

// fifo is a map that forgets its oldest keys past a bound.
type fifo[V any] struct {
	m     map[string]V
	order []string // keys in insertion order; may hold deleted ones
	max   int
}

func newFIFO[V any](max int) *fifo[V] { return &fifo[V]{m: map[string]V{}, max: max} }

func (f *fifo[V]) put(k string, v V) {
	if _, ok := f.m[k]; !ok {
		f.order = append(f.order, k)
	}
	f.m[k] = v
	for len(f.m) > f.max && len(f.order) > 0 {
		delete(f.m, f.order[0])
		f.order = f.order[1:]
	}
	if len(f.order) > 2*f.max {
		// Deleted keys pile up in order; keep only the live ones.
		live := f.order[:0]
		for _, k := range f.order {
			if _, ok := f.m[k]; ok {
				live = append(live, k)
			}
		}
		f.order = live
	}
}

// grant is a code or refresh token the store holds, with the request it
// was issued for.
type grant struct {
	req    fosite.Requester
	active bool
	tenant string
}

// grantStore is fosite's storage for one vendor's authorization server:
// clients come from the tenants; codes, PKCE sessions and refresh tokens
// are kept here, bounded. Access tokens are not kept for fosite, which
// never reads them back here: the ledger is what resource calls are
// checked against.
type grantStore struct {
	as *authServer

	mu      sync.Mutex
	codes   *fifo[*grant]
	pkce    *fifo[fosite.Requester]
	refresh *fifo[*grant]
}

func newGrantStore(as *authServer) *grantStore {
	return &grantStore{as: as, codes: newFIFO[*grant](maxGrants), pkce: newFIFO[fosite.Requester](maxGrants), refresh: newFIFO[*grant](maxGrants)}
}

// redirectKey carries the redirect_uri of the request being served, which
// the client is given as its registered one: the sandbox accepts any
// redirect a client asks for, and fosite still checks that the token
// request repeats the authorization request's.
type redirectKey struct{}

// GetClient gives fosite the tenant's client, with its current secret.
func (g *grantStore) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c := g.as.tenants.clients[id]
	if c == nil {
		return nil, fosite.ErrNotFound
	}
	hash, err := g.as.secretHash(ctx, c)
	if err != nil {
		return nil, err
	}
	dc := &fosite.DefaultClient{
		ID: c.id, Secret: hash, Scopes: c.scopes,
		GrantTypes:    []string{"authorization_code", "client_credentials", "refresh_token"},
		ResponseTypes: []string{"code"},
	}
	if uri, _ := ctx.Value(redirectKey{}).(string); uri != "" {
		dc.RedirectURIs = []string{uri}
	}
	return dc, nil
}

// ClientAssertionJWTValid says every JWT ID is new: the sandbox takes no
// client assertions, so none is ever recorded.
func (g *grantStore) ClientAssertionJWTValid(context.Context, string) error { return nil }

// SetClientAssertionJWT records nothing; see ClientAssertionJWTValid.
func (g *grantStore) SetClientAssertionJWT(context.Context, string, time.Time) error { return nil }

func (g *grantStore) CreateAuthorizeCodeSession(_ context.Context, sig string, req fosite.Requester) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.codes.put(sig, &grant{req: req, active: true})
	return nil
}

func (g *grantStore) GetAuthorizeCodeSession(_ context.Context, sig string, _ fosite.Session) (fosite.Requester, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.codes.m[sig]
	switch {
	case !ok:
		return nil, fosite.ErrNotFound
	case !c.active:
		return c.req, fosite.ErrInvalidatedAuthorizeCode
	}
	return c.req, nil
}

func (g *grantStore) InvalidateAuthorizeCodeSession(_ context.Context, sig string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.codes.m[sig]
	if !ok {
		return fosite.ErrNotFound
	}
	c.active = false
	return nil
}

func (g *grantStore) CreatePKCERequestSession(_ context.Context, sig string, req fosite.Requester) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pkce.put(sig, req)
	return nil
}

func (g *grantStore) GetPKCERequestSession(_ context.Context, sig string, _ fosite.Session) (fosite.Requester, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, ok := g.pkce.m[sig]
	if !ok {
		return nil, fosite.ErrNotFound
	}
	return r, nil
}

func (g *grantStore) DeletePKCERequestSession(_ context.Context, sig string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.pkce.m, sig)
	return nil
}

// CreateAccessTokenSession keeps nothing: the ledger records access tokens
// once the response holds them.
func (g *grantStore) CreateAccessTokenSession(context.Context, string, fosite.Requester) error {
	return nil
}

func (g *grantStore) GetAccessTokenSession(context.Context, string, fosite.Session) (fosite.Requester, error) {
	return nil, fosite.ErrNotFound
}

func (g *grantStore) DeleteAccessTokenSession(context.Context, string) error { return nil }

func (g *grantStore) RevokeAccessToken(context.Context, string) error { return nil }

func (g *grantStore) CreateRefreshTokenSession(_ context.Context, sig, _ string, req fosite.Requester) error {
	tenant := ""
	if c := g.as.tenants.clients[req.GetClient().GetID()]; c != nil {
		tenant = c.tenant
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refresh.put(sig, &grant{req: req, active: true, tenant: tenant})
	return nil
}

func (g *grantStore) GetRefreshTokenSession(_ context.Context, sig string, _ fosite.Session) (fosite.Requester, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, ok := g.refresh.m[sig]
	switch {
	case !ok:
		return nil, fosite.ErrNotFound
	case !r.active:
		return r.req, fosite.ErrInactiveToken
	}
	return r.req, nil
}

func (g *grantStore) DeleteRefreshTokenSession(_ context.Context, sig string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.refresh.m, sig)
	return nil
}

// RotateRefreshToken retires the refresh tokens of the grant being
// refreshed when rotation is on ([WithRefreshRotation]); otherwise they
// stay valid beside the new one, as at vendors that do not rotate.
func (g *grantStore) RotateRefreshToken(ctx context.Context, requestID, _ string) error {
	if !g.as.rotate {
		return nil
	}
	return g.RevokeRefreshToken(ctx, requestID)
}

// RevokeRefreshToken retires every refresh token of a grant; a retired one
// presented again is reuse, which fosite answers invalid_grant.
func (g *grantStore) RevokeRefreshToken(_ context.Context, requestID string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range g.refresh.m {
		if r.req.GetID() == requestID {
			r.active = false
		}
	}
	return nil
}

// revokeTenant forgets every refresh token of tenant, and says how many
// were still usable.
func (g *grantStore) revokeTenant(tenant string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for sig, r := range g.refresh.m {
		if r.tenant == tenant {
			if r.active {
				n++
			}
			delete(g.refresh.m, sig)
		}
	}
	return n
}

// ledger is a vendor's record of the access tokens its authorization
// server issued, by digest, with the sandbox's clock's idea of when each
// expires: resource calls are checked against it, not against fosite,
// which reads the wall clock.
type ledger struct {
	mu     sync.Mutex
	tokens *fifo[*issued]
}

// issued is one access token the ledger knows.
type issued struct {
	tenant  string
	client  string          // the ID of the client it was issued to
	scopes  map[string]bool // never changed once recorded
	expires time.Time
}

func newLedger() *ledger { return &ledger{tokens: newFIFO[*issued](maxGrants)} }

func tokenKey(token string) string {
	d := sha256.Sum256([]byte(token))
	return string(d[:])
}

func (l *ledger) record(token string, it *issued) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens.put(tokenKey(token), it)
}

// check finds token; a nil ledger knows none.
func (l *ledger) check(token string) (issued, bool) {
	if l == nil {
		return issued{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	it, ok := l.tokens.m[tokenKey(token)]
	if !ok {
		return issued{}, false
	}
	return *it, true
}

// clients are the IDs of the clients that tenant's tokens were issued to.
func (l *ledger) clients(tenant string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, it := range l.tokens.m {
		if it.tenant == tenant && !slices.Contains(out, it.client) {
			out = append(out, it.client)
		}
	}
	slices.Sort(out)
	return out
}

// expire ends, at now, every access token of tenant still valid, and says
// how many there were.
func (l *ledger) expire(tenant string, now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, it := range l.tokens.m {
		if it.tenant == tenant && now.Before(it.expires) {
			it.expires = now
			n++
		}
	}
	return n
}
