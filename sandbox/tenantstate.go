package sandbox

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tetherkit/tether/sandbox/state"
)

// State is a copy of what tenant's state holds, by vendor, for every
// vendor served with state; a vendor without state is left out. Items come
// oldest first within each parent, in the layout [LoadState] reads, so
// that [Sandbox.SetState] takes it back; numbers in objects are
// [encoding/json.Number]s, as exact as the vendor wrote them. An empty tenant means
// [DefaultTenant]. It fails for a tenant the sandbox does not know.
func (s *Sandbox) State(tenant string) (map[string]state.Document, error) {
	tenant, err := s.stateTenant(tenant)
	if err != nil {
		return nil, err
	}
	out := map[string]state.Document{}
	for _, v := range s.order {
		if v.store != nil {
			out[v.Name] = v.store.Snapshot(tenant)
		}
	}
	return out, nil
}

// SetState replaces tenant's state of each vendor m names with its
// document; vendors m does not name keep theirs. Either every vendor's
// state is replaced or, on an error, none: a vendor not served, or served
// without state, or a document that does not fit the vendor's resources
// (a *[state.EntryError] says where). Idempotency keys and deletions the
// tenant's state remembered for those vendors are forgotten.
func (s *Sandbox) SetState(tenant string, m map[string]state.Document) error {
	return s.setState(tenant, m, nil)
}

// ResetState returns tenants' state to what they started with: the seeds
// of the cassettes, the contracts' examples and the state files. With no
// tenant named, every tenant's. Journal, faults and cassettes are left as
// they are; [Sandbox.Reset] resets everything.
func (s *Sandbox) ResetState(tenants ...string) error {
	for i, t := range tenants {
		var err error
		if tenants[i], err = s.stateTenant(t); err != nil {
			return err
		}
	}
	for _, v := range s.order {
		if v.store != nil {
			v.store.Reset(tenants...)
		}
	}
	return nil
}

// stateTenant checks that tenant is one whose calls the sandbox answers:
// a registered tenant, or [DefaultTenant].
func (s *Sandbox) stateTenant(tenant string) (string, error) {
	if tenant == "" || tenant == DefaultTenant || slices.Contains(s.tenants.names, tenant) {
		if tenant == "" {
			tenant = DefaultTenant
		}
		return tenant, nil
	}
	known := append([]string{DefaultTenant}, s.tenants.names...)
	msg := fmt.Sprintf("no tenant %q; the tenants are %s", tenant, strings.Join(known, ", "))
	if near := closest(tenant, known); near != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	}
	return "", &usageError{msg}
}

// setState is SetState; f, when given, is where m was read from, and
// errors are placed in it.
func (s *Sandbox) setState(tenant string, m map[string]state.Document, f *stateFile) error {
	tenant, err := s.stateTenant(tenant)
	if err != nil {
		return err
	}
	if f != nil {
		if err := f.check(s); err != nil {
			return err
		}
	}
	names := slices.Sorted(maps.Keys(m))
	for _, name := range names {
		v, ok := s.vendors[name]
		switch {
		case !ok:
			return &usageError{fmt.Sprintf("no vendor %q; the vendors are %s", name, strings.Join(s.Vendors(), ", "))}
		case v.store == nil:
			return &usageError{fmt.Sprintf("vendor %q is served without state, so it has none to replace", name)}
		}
	}
	// Replace one vendor after another; on a failure put back those
	// already replaced.
	var done []string
	before := map[string]state.Document{}
	for _, name := range names {
		st := s.vendors[name].store
		before[name] = st.Snapshot(tenant)
		if err := st.Replace(tenant, m[name]); err != nil {
			for _, d := range done {
				// What was there fitted the model, so it fits again.
				s.vendors[d].store.Replace(tenant, before[d])
			}
			if f != nil {
				return f.locate(name, err)
			}
			return fmt.Errorf("vendor %q: %w", name, err)
		}
		done = append(done, name)
	}
	return nil
}

// isUsage reports whether err is the caller's mistake rather than the
// sandbox's.
func isUsage(err error) bool {
	var ue *usageError
	var ee *state.EntryError
	return errors.As(err, &ue) || errors.As(err, &ee)
}
