package server

import (
	"context"
	"fmt"

	"github.com/tandem-llm/tandem/backend"
)

// Limit bounds the requests b serves at once to n (n ≤ 0: b itself). A
// request over the limit fails at once with backend.ErrOverloaded, so a
// failover chain moves on to its next tier and a client gets 429.
func Limit(b backend.Backend, n int) backend.Backend {
	if n <= 0 {
		return b
	}
	return &limited{b: b, sem: make(chan struct{}, n)}
}

type limited struct {
	b   backend.Backend
	sem chan struct{}
}

func (l *limited) Stream(ctx context.Context, req *backend.Request, emit func(backend.Event) error) (backend.Final, error) {
	select {
	case l.sem <- struct{}{}:
	default:
		return backend.Final{}, fmt.Errorf("%w: %d requests in progress on this tier", backend.ErrOverloaded, cap(l.sem))
	}
	defer func() { <-l.sem }()
	return l.b.Stream(ctx, req, emit)
}
