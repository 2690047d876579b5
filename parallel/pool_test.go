package parallel

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestForCoversRange(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := New(threads)
		for _, c := range []struct{ total, grain int }{{0, 1}, {1, 1}, {7, 1}, {100, 16}, {1000, 3}, {5, 16}} {
			seen := make([]int32, c.total)
			p.For(c.total, c.grain, func(s, e int) {
				if s%c.grain != 0 && s != 0 {
					t.Errorf("chunk start %d not a multiple of grain %d", s, c.grain)
				}
				for i := s; i < e; i++ {
					atomic.AddInt32(&seen[i], 1)
				}
			})
			for i, n := range seen {
				if n != 1 {
					t.Fatalf("threads %d total %d grain %d: index %d visited %d times", threads, c.total, c.grain, i, n)
				}
			}
		}
		p.Close()
	}
}

func TestForAllocs(t *testing.T) {
	p := New(2)
	defer p.Close()
	var sink atomic.Int64
	fn := func(s, e int) { sink.Add(int64(e - s)) }
	if a := testing.AllocsPerRun(100, func() { p.For(1000, 16, fn) }); a != 0 {
		t.Errorf("%.1f allocations per For", a)
	}
}

// BenchmarkForOverhead is the cost of one parallel loop with no work: the
// synchronisation a decode step pays a few hundred times per token.
func BenchmarkForOverhead(b *testing.B) {
	p := New(2)
	defer p.Close()
	fn := func(s, e int) {}
	for b.Loop() {
		p.For(1024, 16, fn)
	}
}

// TestForHandoff runs many short loops whose chunks sometimes outlast the
// spin time, so that workers and For go through both the spinning and the
// blocking hand-offs; every loop must be complete when For returns.
func TestForHandoff(t *testing.T) {
	for _, threads := range []int{2, 3} {
		p := New(threads)
		seen := make([]int32, 64)
		for loop := range 2000 {
			p.For(len(seen), 1, func(s, e int) {
				if (loop+s)%7 == 0 {
					time.Sleep(time.Duration(loop%3) * 40 * time.Microsecond)
				}
				for i := s; i < e; i++ {
					atomic.AddInt32(&seen[i], 1)
				}
			})
			for i := range seen {
				if n := atomic.LoadInt32(&seen[i]); n != int32(loop+1) {
					t.Fatalf("threads %d loop %d: index %d visited %d times when For returned", threads, loop, i, n)
				}
			}
			if loop%500 == 0 {
				time.Sleep(200 * time.Microsecond) // let the workers block
			}
		}
		p.Close()
	}
}

// TestForLateWake delays For between starting a loop and waking the workers,
// as a descheduled caller would: a spinning worker runs the whole loop and
// falls asleep for the next one before For's wake-up for this loop reaches
// it. That late token must not start an extra pass (which once decremented
// the next loop's count and hung For).
func TestForLateWake(t *testing.T) {
	p := New(3)
	defer p.Close()
	p.started = func() { time.Sleep(3 * spinTime) }
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		seen := make([]int32, 16)
		for loop := range 200 {
			p.For(len(seen), 1, func(s, e int) {
				for i := s; i < e; i++ {
					atomic.AddInt32(&seen[i], 1)
				}
			})
			for i := range seen {
				if n := atomic.LoadInt32(&seen[i]); n != int32(loop+1) {
					t.Errorf("loop %d: index %d visited %d times when For returned", loop, i, n)
					return
				}
			}
		}
	}()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		t.Fatal("For hung: a worker took a late wake-up for a new loop")
	}
}
