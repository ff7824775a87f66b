package sandbox_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tetherkit/tether/sandbox"
)

// Each credential fault changes the caller's credential as the matching
// call arrives: that call is refused as the vendor would, and what comes
// after shows whether the change lasts.
func TestCredentialFaults(t *testing.T) {
	listWith := func(t *testing.T, s *sandbox.Sandbox, header, value string) (int, string) {
		t.Helper()
		st, h, _ := send(t, s, "GET", "/widgets/v1/widgets", "", header, value)
		return st, h.Get("WWW-Authenticate")
	}
	t.Run("token-expired", func(t *testing.T) {
		s, _ := widgetsAuth(t, false, sandbox.WithFault(sandbox.TokenExpired().On("listWidgets").FirstN(1)))
		tok := mustToken(t, clientCredentials(t, s, "widgets", "acme-app", "acme-secret-1"))
		if st, ch := listWith(t, s, "Authorization", "Bearer "+tok); st != http.StatusUnauthorized || !strings.Contains(ch, `error="invalid_token"`) {
			t.Fatalf("the call as the token expires: %d %q, want 401 invalid_token", st, ch)
		}
		if st, _ := listWith(t, s, "Authorization", "Bearer "+tok); st != http.StatusUnauthorized {
			t.Errorf("the expired token again: %d, want 401", st)
		}
		fresh := mustToken(t, clientCredentials(t, s, "widgets", "acme-app", "acme-secret-1"))
		if st, _ := listWith(t, s, "Authorization", "Bearer "+fresh); st != http.StatusOK {
			t.Errorf("a new token: %d, want 200", st)
		}
		e := s.Journal(sandbox.JournalFilter{Kind: sandbox.KindCall, Operation: "listWidgets"}).Entries[0]
		if !strings.Contains(e.Fault, "access tokens expired on listWidgets, first call; 1 access tokens ended") {
			t.Errorf("journal says %q of the fault", e.Fault)
		}
	})
	t.Run("grant-revoked", func(t *testing.T) {
		s, _ := widgetsAuth(t, false, sandbox.WithFault(sandbox.GrantRevoked().On("listWidgets").FirstN(1)))
		tok := mustToken(t, clientCredentials(t, s, "widgets", "acme-app", "acme-secret-1"))
		if st, _ := listWith(t, s, "Authorization", "Bearer "+tok); st != http.StatusUnauthorized {
			t.Fatalf("the call as the grant is revoked: %d, want 401", st)
		}
		if a := clientCredentials(t, s, "widgets", "acme-app", "acme-secret-1"); a.status != http.StatusUnauthorized || a.str("error") != "invalid_client" {
			t.Errorf("a new grant with the old secret: %d %s, want 401 invalid_client", a.status, a.raw)
		}
		// Another tenant's client is untouched.
		other := mustToken(t, clientCredentials(t, s, "widgets", "globex-app", "globex-secret-1"))
		if st, _ := listWith(t, s, "Authorization", "Bearer "+other); st != http.StatusOK {
			t.Errorf("globex after acme's grant was revoked: %d, want 200", st)
		}
	})
	t.Run("scope-removed", func(t *testing.T) {
		s, _ := widgetsAuth(t, false, sandbox.WithFault(sandbox.ScopeRemoved("widgets:read").On("listWidgets").FirstN(1)))
		tok := mustToken(t, clientCredentials(t, s, "widgets", "acme-app", "acme-secret-1"))
		for i := range 2 {
			if st, ch := listWith(t, s, "Authorization", "Bearer "+tok); st != http.StatusForbidden || !strings.Contains(ch, `error="insufficient_scope"`) {
				t.Fatalf("call %d after the scope was removed: %d %q, want 403 insufficient_scope", i+1, st, ch)
			}
		}
	})
	t.Run("key-rotated", func(t *testing.T) {
		s, _ := widgetsAuth(t, false, sandbox.WithFault(sandbox.KeyRotated().On("listWidgets").FirstN(1)))
		for i := range 2 {
			if st, _ := listWith(t, s, "X-Api-Key", "acme-key-0001"); st != http.StatusUnauthorized {
				t.Fatalf("call %d with the rotated key: %d, want 401", i+1, st)
			}
		}
		// The OAuth2 client of the same tenant still works.
		tok := mustToken(t, clientCredentials(t, s, "widgets", "acme-app", "acme-secret-1"))
		if st, _ := listWith(t, s, "Authorization", "Bearer "+tok); st != http.StatusOK {
			t.Errorf("acme's token after its key was rotated: %d, want 200", st)
		}
	})
}

func TestCredentialFaultValidation(t *testing.T) {
	for _, tc := range []struct {
		f    sandbox.Fault
		want string
	}{
		{sandbox.Fault{Kind: "scope-removed"}, "a scope-removed fault needs a scope"},
		{sandbox.Fault{Kind: "token-expired", Scope: "a"}, "scope does not apply to a token-expired fault"},
		{sandbox.Fault{Kind: "key-rotate"}, `did you mean "key-rotated"`},
	} {
		err := tc.f.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.f, err, tc.want)
		}
	}
	if err := sandbox.ScopeRemoved("a:b", "c").Validate(); err != nil {
		t.Errorf("ScopeRemoved: %v", err)
	}
	if got := sandbox.ScopeRemoved("a:b", "c").On("op").String(); got != "scope a:b, c removed on op" {
		t.Errorf("String: %q", got)
	}
}

// A rotation to the secret it replaces is refused and changes nothing:
// it once dropped the credential altogether.
func TestRotateKeyToItself(t *testing.T) {
	s, _ := widgetsAuth(t, false)
	if err := s.RotateKey("acme", "acme-key-0001", "acme-key-0001"); err == nil || !strings.Contains(err.Error(), "the new secret is the old one") {
		t.Fatalf("RotateKey to itself: %v", err)
	}
	if st, _, _ := send(t, s, "GET", "/widgets/v1/widgets", "", "X-Api-Key", "acme-key-0001"); st != http.StatusOK {
		t.Errorf("the key after a refused rotation: %d, want 200", st)
	}
}

// A plan read from YAML or JSON (a file, the admin API) takes the
// credential faults and their scope.
func TestCredentialFaultsInAPlan(t *testing.T) {
	plan, err := sandbox.ParseFaults("plan.yaml", []byte("faults:\n  - kind: scope-removed\n    scope: \"widgets:read widgets:write\"\n    operation: listWidgets\n    first: 1\n  - kind: grant-revoked\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.Faults[0]; got != sandbox.ScopeRemoved("widgets:read", "widgets:write").On("listWidgets").FirstN(1) {
		t.Errorf("read %+v", got)
	}
	s, _ := widgetsAuth(t, false)
	if err := s.Client().SetFaults(t.Context(), plan); err != nil {
		t.Fatalf("the plan through the admin API: %v", err)
	}
}
