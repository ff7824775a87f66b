package sandbox

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// maxTargets bounds the targets registered while the sandbox runs.
const maxTargets = 1024

// targets are where the sandbox may deliver webhooks: the loopback
// interface, the hosts it was started with ([WithTargetHost]) and the
// origins registered while it runs ([Sandbox.AllowTarget]).
type targets struct {
	hosts []hostPort // from the start

	mu      sync.Mutex
	origins []string // "scheme://host:port", registered
}

// hostPort is a host given at start; port "" means any.
type hostPort struct{ host, port string }

func parseTargetHost(s string) (hostPort, error) {
	if s == "" || strings.Contains(s, "/") {
		return hostPort{}, errors.New("give HOST or HOST:PORT, without scheme or path")
	}
	if h, p, err := net.SplitHostPort(s); err == nil {
		if h == "" || p == "" {
			return hostPort{}, errors.New("give HOST or HOST:PORT")
		}
		return hostPort{strings.ToLower(h), p}, nil
	}
	if strings.Contains(strings.Trim(s, "[]"), ":") && net.ParseIP(strings.Trim(s, "[]")) == nil {
		return hostPort{}, errors.New("give HOST or HOST:PORT")
	}
	return hostPort{strings.ToLower(strings.Trim(s, "[]")), ""}, nil
}

func newTargets(hosts []string) *targets {
	t := &targets{}
	for _, h := range hosts {
		hp, _ := parseTargetHost(h) // checked by WithTargetHost
		t.hosts = append(t.hosts, hp)
	}
	return t
}

// originOf is the origin of an http or https URL: its scheme, host and
// port, the port spelled out.
type originOf struct{ scheme, host, port string }

func parseOrigin(raw string) (originOf, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return originOf{}, fmt.Errorf("target %q is not an http or https URL without credentials", raw)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return originOf{u.Scheme, strings.ToLower(u.Hostname()), port}, nil
}

func (o originOf) String() string { return o.scheme + "://" + net.JoinHostPort(o.host, o.port) }

// allowed says whether raw may be delivered to, and why not.
func (t *targets) allowed(raw string) error {
	o, err := parseOrigin(raw)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(o.host); (ip != nil && ip.IsLoopback()) || o.host == "localhost" {
		return nil
	}
	for _, hp := range t.hosts {
		if hp.host == o.host && (hp.port == "" || hp.port == o.port) {
			return nil
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if slices.Contains(t.origins, o.String()) {
		return nil
	}
	return fmt.Errorf("target %s is not one the sandbox delivers to: it delivers to the loopback interface, to hosts it was started with (--deliver-to), and to targets registered through the admin API (POST %stargets)", o, AdminPrefix)
}

func (t *targets) add(raw string) error {
	oo, err := parseOrigin(raw)
	if err != nil {
		return err
	}
	o := oo.String()
	t.mu.Lock()
	defer t.mu.Unlock()
	if slices.Contains(t.origins, o) {
		return nil
	}
	if len(t.origins) >= maxTargets {
		return fmt.Errorf("the sandbox already has %d registered targets, the most it keeps", maxTargets)
	}
	t.origins = append(t.origins, o)
	return nil
}

func (t *targets) list() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string{}, t.origins...)
}

// AllowTarget registers the origin (scheme, host and port) of rawURL as a
// place webhooks may be delivered to, such as a connector listening on a
// port chosen at run time. Loopback targets and hosts given with
// [WithTargetHost] need no registration.
func (s *Sandbox) AllowTarget(rawURL string) error {
	return s.targets.add(rawURL)
}
