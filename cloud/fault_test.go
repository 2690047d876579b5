package cloud

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tandem-llm/tandem/backend"
)

// TestFaultInjection streams 200 requests, 20 at a time, from 4 replicas
// while a chaos loop keeps 2 of them failing in turn (killed, 500, hang
// before headers, stall mid-stream, cut mid-stream, 429, slow first byte).
// Every request must end with the complete, correct answer.
func TestFaultInjection(t *testing.T) {
	const (
		replicas    = 4
		requests    = 200
		concurrency = 20
		phase       = 60 * time.Millisecond
	)
	fs := make([]*fake, replicas)
	for i := range fs {
		fs[i] = newFake(t)
		fs[i].tokenDelay.Store(int64(time.Millisecond))
		fs[i].cutAfter.Store(int32(2 + i))
		fs[i].slowFirst.Store(int64(30 * time.Millisecond))
	}
	obs := newRecObserver()
	p := newTestPool(t, Options{
		MaxAttempts:      10,
		MaxFailovers:     20,
		FirstByteTimeout: 200 * time.Millisecond,
		StallTimeout:     100 * time.Millisecond,
		BackoffBase:      5 * time.Millisecond,
		BackoffMax:       80 * time.Millisecond,
		BreakerThreshold: 3,
		BreakerCooldown:  60 * time.Millisecond,
		HealthInterval:   50 * time.Millisecond,
		HealthTimeout:    100 * time.Millisecond,
		Observer:         obs,
	}, fs...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.Start(ctx)

	// Phase 0 has replica 0 hang and replica 1 killed, so that the first
	// requests meet both for sure.
	faults := []string{"hang", "kill", "stall", "500", "cut", "429", "slow"}
	set := func(f *fake, fault string) {
		if fault != "kill" {
			f.revive()
		}
		switch fault {
		case "kill":
			f.kill()
		case "500":
			f.mode.Store(mode500)
		case "hang":
			f.mode.Store(modeHang)
		case "stall":
			f.mode.Store(modeStall)
		case "cut":
			f.mode.Store(modeCut)
		case "429":
			f.mode.Store(mode429)
		case "slow":
			f.mode.Store(modeSlowFirst)
		default:
			f.mode.Store(modeOK)
		}
	}
	apply := func(n int) {
		// Phase n: replicas n and n+1 (mod 4) fail, the others work.
		for i, f := range fs {
			if i == n%replicas || i == (n+1)%replicas {
				set(f, faults[(n+i)%len(faults)])
			} else {
				set(f, "ok")
			}
		}
	}
	apply(0)
	chaosDone := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(chaosDone)
		for n := 1; ; n++ {
			select {
			case <-stop:
				for _, f := range fs {
					set(f, "ok")
				}
				return
			case <-time.After(phase):
			}
			apply(n)
		}
	}()

	start := time.Now()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []string
		worst    time.Duration
	)
	sem := make(chan struct{}, concurrency)
	for i := range requests {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var req *backend.Request
			var want string
			if i%3 == 0 {
				req = &backend.Request{Prompt: fmt.Sprintf("Q: fault %d\nA:", i)}
				want = answerFor(req.Prompt)
			} else {
				q := fmt.Sprint("fault ", i)
				req, want = chatReq(q), chatExpected(q)
			}
			res := collect(ctx, p, req)
			mu.Lock()
			defer mu.Unlock()
			worst = max(worst, res.total)
			if res.err != nil || res.text != want || res.final.FinishReason != "stop" {
				failures = append(failures, fmt.Sprintf("request %d: %v\n got %q\nwant %q", i, res.err, res.text, want))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	<-chaosDone

	obs.mu.Lock()
	attempts := 0
	for _, n := range obs.attempts {
		attempts += n
	}
	t.Logf("%d requests in %v (slowest %v), %d attempts, failures by kind %v, %d breaker events, %d health events",
		requests, elapsed, worst, attempts, obs.errs, len(obs.breaker), len(obs.health))
	for _, k := range []string{KindConnect, KindStatus, KindFirstByte, KindStall, KindCut} {
		if obs.errs[k] == 0 {
			t.Errorf("no %s fault was exercised", k)
		}
	}
	obs.mu.Unlock()
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed:\n%s", len(failures), requests, failures[0])
	}
	if elapsed > 20*time.Second {
		t.Fatalf("took %v", elapsed)
	}
}
