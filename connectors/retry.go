package connectors

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// RetryPolicy says how often, and after how long, a failed call is tried
// again. A field left at zero takes its default, so RetryPolicy{} is a
// sound policy.
//
// The wait before retry n (n from 1) is drawn from [d/2, d], where d is
// Base·2^(n-1) capped at Max ("equal jitter": waits still grow, and
// callers that failed together spread out). An error made with
// [Retryable] and a delay is waited out for at least that delay, even
// above Max. The policy gives up, returning the last error, after
// Attempts attempts, or when the next wait would take the time spent
// waiting beyond Budget.
type RetryPolicy struct {
	Base     time.Duration // the first wait before jitter; default 200ms
	Max      time.Duration // the cap of a wait before jitter; default 10s
	Budget   time.Duration // the most time waited in all; default 1m
	Attempts int           // the most attempts, the first included; default 5
	// Seed makes the jitter repeatable: each Do call draws its waits from
	// a source seeded with it, so the same seed gives the same waits. The
	// default, 0, draws a new seed per call, so that many callers failing
	// at once do not retry in step. Tests set it.
	Seed int64

	// sleep waits d or until ctx is done; tests replace it so that they
	// do not wait. nil means sleepContext.
	sleep func(ctx context.Context, d time.Duration) error
}

// Defaults of [RetryPolicy].
const (
	defaultRetryBase     = 200 * time.Millisecond
	defaultRetryMax      = 10 * time.Second
	defaultRetryBudget   = time.Minute
	defaultRetryAttempts = 5
)

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Base <= 0 {
		p.Base = defaultRetryBase
	}
	if p.Max <= 0 {
		p.Max = defaultRetryMax
	}
	if p.Budget <= 0 {
		p.Budget = defaultRetryBudget
	}
	if p.Attempts <= 0 {
		p.Attempts = defaultRetryAttempts
	}
	if p.sleep == nil {
		p.sleep = sleepContext
	}
	return p
}

// Do calls fn, with the number of the attempt from 1, until it returns
// nil or the policy gives up, and returns the number of attempts made and
// fn's last error. It does not retry:
//
//   - an error made with [Permanent];
//   - any error once ctx is done, or an error that is a
//     [context.Canceled] (a call cut short by its own deadline, such as a
//     client timeout, is retried while ctx lasts).
//
// When ctx ends during a wait, Do returns at once with an error that
// wraps both ctx's error and fn's last one.
func (p RetryPolicy) Do(ctx context.Context, fn func(ctx context.Context, attempt int) error) (attempts int, err error) {
	p = p.withDefaults()
	rng := p.source()
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		err = fn(ctx, attempt)
		if err == nil || attempt >= p.Attempts || IsPermanent(err) || ctx.Err() != nil || errors.Is(err, context.Canceled) {
			return attempt, err
		}
		wait := p.backoff(rng, attempt)
		if hint, ok := RetryAfter(err); ok && hint > wait {
			wait = hint
		}
		if waited+wait > p.Budget {
			return attempt, err
		}
		if serr := p.sleep(ctx, wait); serr != nil {
			return attempt, fmt.Errorf("stop retrying: %w; last error: %w", serr, err)
		}
		waited += wait
	}
}

// Delays returns the waits before the first n retries when no error gives
// a delay, as Do draws them: with a Seed set, exactly the waits Do makes.
// The budget is not applied.
func (p RetryPolicy) Delays(n int) []time.Duration {
	p = p.withDefaults()
	rng := p.source()
	waits := make([]time.Duration, n)
	for i := range waits {
		waits[i] = p.backoff(rng, i+1)
	}
	return waits
}

func (p RetryPolicy) source() *rand.Rand {
	seed := uint64(p.Seed)
	if seed == 0 {
		seed = rand.Uint64()
	}
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// backoff draws the wait before retry n (from 1).
func (p RetryPolicy) backoff(rng *rand.Rand, n int) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.Max; i++ {
		d = min(d, p.Max/2) * 2 // no overflow, whatever Max is
	}
	d = min(d, p.Max)
	half := d / 2
	return half + time.Duration(rng.Int64N(int64(d-half)+1))
}

// sleepContext waits d, or until ctx is done and then returns its error.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
