// Package parallel runs data-parallel loops on a fixed set of worker
// goroutines, so the decode loop starts no goroutines and allocates nothing.
package parallel

import (
	"sync"
	"sync/atomic"
)

// chunksPerWorker splits each loop finer than one piece per worker, so a
// worker whose core is busy with another process does less of the loop
// instead of holding everyone up (phones always have other apps running).
const chunksPerWorker = 4

// Pool splits loops over n workers: the caller's goroutine plus n-1
// persistent goroutines that block (never spin) between loops. A Pool runs
// one loop at a time; Close stops it.
type Pool struct {
	n     int
	wake  []chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex // serialises For calls from different goroutines
	close sync.Once

	// The loop in progress, published to workers by the wake send.
	fn            func(start, end int)
	total, grain  int
	units, chunks int
	next          atomic.Int64 // next chunk to take
}

// New starts a pool of n workers (n < 1 means 1).
func New(n int) *Pool {
	if n < 1 {
		n = 1
	}
	p := &Pool{n: n, wake: make([]chan struct{}, n-1)}
	for i := range p.wake {
		ch := make(chan struct{})
		p.wake[i] = ch
		go func() {
			for range ch {
				p.run()
				p.wg.Done()
			}
		}()
	}
	return p
}

// Threads is the number of workers.
func (p *Pool) Threads() int { return p.n }

// For calls fn(start, end) over disjoint ranges covering [0, total) whose
// boundaries are multiples of grain (except at total), on up to Threads()
// goroutines, and returns when all are done. Ranges are handed out in order
// as workers become free.
func (p *Pool) For(total, grain int, fn func(start, end int)) {
	if grain < 1 {
		grain = 1
	}
	units := (total + grain - 1) / grain
	k := min(p.n, units)
	if k <= 1 {
		if total > 0 {
			fn(0, total)
		}
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fn, p.total, p.grain, p.units = fn, total, grain, units
	p.chunks = min(units, k*chunksPerWorker)
	p.next.Store(0)
	p.wg.Add(k - 1)
	for i := 0; i < k-1; i++ {
		p.wake[i] <- struct{}{}
	}
	p.run()
	p.wg.Wait()
	p.fn = nil
}

// run takes chunks until none are left.
func (p *Pool) run() {
	for {
		c := int(p.next.Add(1) - 1)
		if c >= p.chunks {
			return
		}
		start := c * p.units / p.chunks * p.grain
		end := min((c+1)*p.units/p.chunks*p.grain, p.total)
		p.fn(start, end)
	}
}

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	p.close.Do(func() {
		for _, ch := range p.wake {
			close(ch)
		}
	})
}
