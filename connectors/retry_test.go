package connectors

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// recordedSleeps is a sleeper that waits for nothing and keeps the waits.
type recordedSleeps struct {
	waits []time.Duration
	// cancel, when set, is called on the wait numbered cancelAt (from 1),
	// which then ends as an interrupted wait does.
	cancel   context.CancelFunc
	cancelAt int
}

func (r *recordedSleeps) sleep(ctx context.Context, d time.Duration) error {
	r.waits = append(r.waits, d)
	if r.cancel != nil && len(r.waits) == r.cancelAt {
		r.cancel()
		return ctx.Err()
	}
	return nil
}

// failing returns a function for Do that fails with errs in turn, then
// with the last of them, and counts its calls.
func failing(calls *int, errs ...error) func(context.Context, int) error {
	return func(_ context.Context, attempt int) error {
		*calls++
		if attempt != *calls {
			panic("attempt numbers are not consecutive")
		}
		return errs[min(attempt, len(errs))-1]
	}
}

func TestRetryPolicyDo(t *testing.T) {
	down := errors.New("connection reset")
	policy := RetryPolicy{Base: 100 * time.Millisecond, Max: time.Second, Seed: 7}
	tests := []struct {
		reason       string
		policy       RetryPolicy
		errs         []error
		wantAttempts int
		wantErr      error
		wantWaits    []time.Duration // nil: policy.Delays of the same number
	}{
		{reason: "a success is not retried", policy: policy, errs: []error{nil}, wantAttempts: 1},
		{reason: "a failure is retried until a success", policy: policy,
			errs: []error{down, down, nil}, wantAttempts: 3},
		{reason: "a failure stops after Attempts", policy: policy,
			errs: []error{down}, wantAttempts: 5, wantErr: down},
		{reason: "Attempts 1 never retries", policy: RetryPolicy{Attempts: 1, Seed: 7},
			errs: []error{down}, wantAttempts: 1, wantErr: down, wantWaits: []time.Duration{}},
		{reason: "a permanent error is not retried", policy: policy,
			errs: []error{Permanent(down)}, wantAttempts: 1, wantErr: down, wantWaits: []time.Duration{}},
		{reason: "a cancellation is not retried", policy: policy,
			errs: []error{context.Canceled}, wantAttempts: 1, wantErr: context.Canceled, wantWaits: []time.Duration{}},
		{reason: "a delay hint above the backoff is waited out, even above Max", policy: policy,
			errs: []error{Retryable(down, 3*time.Second), nil}, wantAttempts: 2, wantWaits: []time.Duration{3 * time.Second}},
		{reason: "a delay hint below the backoff does not shorten it", policy: policy,
			errs: []error{Retryable(down, time.Nanosecond), nil}, wantAttempts: 2},
		{reason: "a delay hint beyond the budget gives up at once",
			policy: RetryPolicy{Budget: 10 * time.Second, Seed: 7},
			errs:   []error{Retryable(down, 11*time.Second)}, wantAttempts: 1, wantErr: down, wantWaits: []time.Duration{}},
		{reason: "the budget bounds the time waited in all",
			policy: RetryPolicy{Base: time.Second, Max: time.Second, Budget: 2500 * time.Millisecond, Attempts: 10, Seed: 7},
			errs:   []error{Retryable(down, time.Second)}, wantAttempts: 3, wantErr: down,
			wantWaits: []time.Duration{time.Second, time.Second}},
	}
	for _, tt := range tests {
		rec := &recordedSleeps{}
		p := tt.policy
		p.sleep = rec.sleep
		calls := 0
		attempts, err := p.Do(context.Background(), failing(&calls, tt.errs...))
		if attempts != tt.wantAttempts || calls != attempts {
			t.Errorf("%s: %d attempts (%d calls), want %d", tt.reason, attempts, calls, tt.wantAttempts)
		}
		if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("%s: error %v, want %v", tt.reason, err, tt.wantErr)
		}
		want := tt.wantWaits
		if want == nil {
			want = p.Delays(attempts - 1)
		}
		if !slices.Equal(rec.waits, want) && len(rec.waits)+len(want) > 0 {
			t.Errorf("%s: waited %v, want %v", tt.reason, rec.waits, want)
		}
	}
}

func TestRetryPolicyDelays(t *testing.T) {
	p := RetryPolicy{Base: 100 * time.Millisecond, Max: 2 * time.Second, Seed: 1}
	a, b := p.Delays(50), p.Delays(50)
	if !slices.Equal(a, b) {
		t.Errorf("the same seed gave %v, then %v", a, b)
	}
	other := p
	other.Seed = 2
	if slices.Equal(a, other.Delays(50)) {
		t.Errorf("seeds 1 and 2 gave the same waits %v", a)
	}
	ceiling := p.Base
	for i, d := range a {
		if i > 0 {
			ceiling = min(2*ceiling, p.Max)
		}
		if d < ceiling/2 || d > ceiling {
			t.Errorf("wait %d is %v, want within [%v, %v]", i+1, d, ceiling/2, ceiling)
		}
	}
	// A cap of any size does not overflow the doubling.
	huge := RetryPolicy{Base: time.Second, Max: 1<<63 - 1, Seed: 1}
	for i, d := range huge.Delays(80) {
		if d <= 0 {
			t.Fatalf("wait %d with no cap to speak of is %v", i+1, d)
		}
	}

	// Without a seed, two calls draw different waits, so that callers
	// failing together spread out.
	unseeded := RetryPolicy{}
	if slices.Equal(unseeded.Delays(20), unseeded.Delays(20)) {
		t.Errorf("two unseeded calls drew the same waits")
	}

	// The defaults.
	d := RetryPolicy{Seed: 3}.withDefaults()
	if d.Base != 200*time.Millisecond || d.Max != 10*time.Second || d.Budget != time.Minute || d.Attempts != 5 {
		t.Errorf("defaults %+v, want Base 200ms, Max 10s, Budget 1m, Attempts 5", d)
	}
}

func TestRetryPolicyContext(t *testing.T) {
	down := errors.New("connection reset")

	// Cancelled during the second wait: Do returns at once with both errors.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recordedSleeps{cancel: cancel, cancelAt: 2}
	p := RetryPolicy{Seed: 1, sleep: rec.sleep}
	calls := 0
	attempts, err := p.Do(ctx, failing(&calls, down))
	if attempts != 2 || !errors.Is(err, context.Canceled) || !errors.Is(err, down) {
		t.Errorf("cancelled during a wait: %d attempts, error %v; want 2, wrapping context.Canceled and the last error", attempts, err)
	}

	// Cancelled during an attempt: that attempt is the last.
	ctx, cancel = context.WithCancel(context.Background())
	p = RetryPolicy{Seed: 1, sleep: (&recordedSleeps{}).sleep}
	attempts, err = p.Do(ctx, func(context.Context, int) error { cancel(); return down })
	if attempts != 1 || !errors.Is(err, down) {
		t.Errorf("cancelled during an attempt: %d attempts, error %v; want 1 and the attempt's error", attempts, err)
	}

	// A timeout of the call alone is retried while ctx lasts.
	calls = 0
	p = RetryPolicy{Seed: 1, Attempts: 3, sleep: (&recordedSleeps{}).sleep}
	attempts, _ = p.Do(context.Background(), failing(&calls, context.DeadlineExceeded))
	if attempts != 3 {
		t.Errorf("a call's own timeout: %d attempts, want 3", attempts)
	}

	// The real sleeper returns when ctx ends.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := sleepContext(ctx, time.Hour); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Errorf("sleepContext on a cancelled context: %v after %v", err, time.Since(start))
	}
}
