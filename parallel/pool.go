// Package parallel runs data-parallel loops on a fixed set of worker
// goroutines, so the decode loop starts no goroutines and allocates nothing.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// chunksPerWorker splits each loop finer than one piece per worker, so a
// worker whose core is busy with another process does less of the loop
// instead of holding everyone up (phones always have other apps running).
const chunksPerWorker = 4

// spinTime is how long a worker watches for the next loop, and For for the
// workers' last chunks, before blocking. Decode runs a few hundred loops
// per token a few microseconds apart; waking a blocked thread takes tens of
// microseconds, during which the loop ran on fewer workers (1B Q4_0 decode
// on 2 threads: the second worker was busy only 55% of the time). Past
// spinTime nothing spins, so an idle pool costs no CPU.
const spinTime = 50 * time.Microsecond

const waitBit = 1 << 30 // in pending: For is blocked on done

// Pool splits loops over n workers: the caller's goroutine plus n-1
// persistent goroutines. A Pool runs one loop at a time; Close stops it.
type Pool struct {
	n      int
	wake   []chan struct{} // one token wakes a worker asleep on it
	asleep []atomic.Bool   // worker i is blocked, or about to block, on wake[i]
	gen    atomic.Uint64   // loops started: a change starts the workers
	// pending counts the workers still in the current loop, plus waitBit
	// once For blocks on done: the worker whose decrement leaves waitBit
	// alone sends the token. (One word, so that the decision belongs to
	// exactly one loop.)
	pending atomic.Int32
	done    chan struct{}
	closed  atomic.Bool
	mu      sync.Mutex // serialises For calls from different goroutines

	// The loop in progress, published to workers by the gen increment.
	fn            func(start, end int)
	total, grain  int
	units, chunks int
	next          atomic.Int64 // next chunk to take

	started func() // tests: runs between starting a loop and waking the workers
}

// New starts a pool of n workers (n < 1 means 1).
func New(n int) *Pool {
	if n < 1 {
		n = 1
	}
	p := &Pool{n: n, wake: make([]chan struct{}, n-1), asleep: make([]atomic.Bool, n-1), done: make(chan struct{}, 1)}
	for i := range p.wake {
		p.wake[i] = make(chan struct{}, 1)
		go p.worker(i)
	}
	return p
}

func (p *Pool) worker(i int) {
	var seen uint64
	for p.await(i, seen) {
		seen = p.gen.Load()
		p.run()
		if p.pending.Add(-1) == waitBit {
			p.done <- struct{}{}
		}
	}
}

// await returns when a loop after seen has started (true) or the pool is
// closed (false): it spins for spinTime, then blocks on wake[i].
func (p *Pool) await(i int, seen uint64) bool {
	started := func() bool { return p.gen.Load() != seen || p.closed.Load() }
	for {
		if spin(started) {
			return !p.closed.Load()
		}
		// Swap, not Store: started() below must not be read before this
		// write is visible to For. Go's atomics promise that, but qemu-user
		// lets an arm64 store-release pass a later load-acquire on x86 hosts
		// (a lost wake-up that hung the tests); a swap is a full barrier.
		p.asleep[i].Swap(true)
		if started() && p.asleep[i].CompareAndSwap(true, false) {
			return !p.closed.Load()
		}
		<-p.wake[i] // For or Close cleared asleep and sent the token
		// The token can be late: For wakes the workers one by one, and if
		// it is descheduled meanwhile, a worker may run the whole loop,
		// fall asleep for the next one and then get this loop's token.
		if started() {
			return !p.closed.Load()
		}
	}
}

// spin polls cond for up to spinTime and reports whether it became true.
func spin(cond func() bool) bool {
	var deadline time.Time
	for i := 0; ; i++ {
		if cond() {
			return true
		}
		if i%64 == 63 {
			now := time.Now()
			if deadline.IsZero() {
				deadline = now.Add(spinTime)
			} else if now.After(deadline) {
				return false
			}
			runtime.Gosched()
		}
	}
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
	if p.n <= 1 || units <= 1 {
		if total > 0 {
			fn(0, total)
		}
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fn, p.total, p.grain, p.units = fn, total, grain, units
	p.chunks = min(units, p.n*chunksPerWorker)
	p.next.Store(0)
	p.pending.Store(int32(p.n - 1))
	p.gen.Add(1)
	if p.started != nil {
		p.started()
	}
	for i := range p.wake {
		if p.asleep[i].CompareAndSwap(true, false) {
			p.wake[i] <- struct{}{}
		}
	}
	p.run()
	if !spin(func() bool { return p.pending.Load() == 0 }) {
		for {
			v := p.pending.Load()
			if v == 0 {
				break
			}
			if p.pending.CompareAndSwap(v, v|waitBit) {
				<-p.done
				break
			}
		}
	}
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
	if p.closed.Swap(true) {
		return
	}
	for i := range p.wake {
		if p.asleep[i].CompareAndSwap(true, false) {
			p.wake[i] <- struct{}{}
		}
	}
}
