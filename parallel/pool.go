// Package parallel runs data-parallel loops on a fixed set of worker
// goroutines, so the decode loop starts no goroutines and allocates nothing.
package parallel

import "sync"

// Pool splits loops over n workers: the caller's goroutine plus n-1
// persistent goroutines. A Pool runs one loop at a time; Close stops it.
type Pool struct {
	n     int
	work  []chan job
	wg    sync.WaitGroup
	mu    sync.Mutex // serialises For calls from different goroutines
	close sync.Once
}

type job struct {
	fn         func(start, end int)
	start, end int
	done       *sync.WaitGroup
}

// New starts a pool of n workers (n < 1 means 1).
func New(n int) *Pool {
	if n < 1 {
		n = 1
	}
	p := &Pool{n: n, work: make([]chan job, n-1)}
	for i := range p.work {
		ch := make(chan job)
		p.work[i] = ch
		go func() {
			for j := range ch {
				j.fn(j.start, j.end)
				j.done.Done()
			}
		}()
	}
	return p
}

// Threads is the number of workers.
func (p *Pool) Threads() int { return p.n }

// For calls fn(start, end) over [0, total) split into at most Threads()
// contiguous chunks whose boundaries are multiples of grain (except the last),
// and returns when all chunks are done.
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
	p.wg.Add(k - 1)
	per, extra := units/k, units%k
	start := 0
	var mine [2]int
	for i := 0; i < k; i++ {
		n := per
		if i < extra {
			n++
		}
		end := min(start+n*grain, total)
		if i == k-1 {
			mine = [2]int{start, end}
		} else {
			p.work[i] <- job{fn, start, end, &p.wg}
		}
		start = end
	}
	fn(mine[0], mine[1])
	p.wg.Wait()
}

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	p.close.Do(func() {
		for _, ch := range p.work {
			close(ch)
		}
	})
}
