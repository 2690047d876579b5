package parallel

import (
	"sync/atomic"
	"testing"
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
