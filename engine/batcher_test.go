package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// TestBatcherMatchesSolo: sequences generated together (continuous
// batching, staggered arrivals, different lengths) produce exactly what each
// produces alone.
func TestBatcherMatchesSolo(t *testing.T) {
	e := loadStories(t, Options{Threads: 2, Context: 256})
	prompts := []string{"Once upon a time", "Lily and Ben", "The dog", "", "One day, a little girl named Sue went to the store with her mom. She",
		"Tom had a red ball", "The sun was", "Mia and her friend"}
	want := make([]string, len(prompts))
	for i, p := range prompts {
		want[i] = generate(t, e, p, GenerateOptions{MaxTokens: 20 + 5*i}).Text
	}
	b, err := e.NewBatcher(4, 256)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	got := make([]string, len(prompts))
	streamed := make([]strings.Builder, len(prompts))
	errs := make([]error, len(prompts))
	for i, p := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := b.Generate(context.Background(), e.Tokenize(p, true, false), GenerateOptions{MaxTokens: 20 + 5*i},
				func(tk Token) error { streamed[i].WriteString(tk.Text); return nil })
			got[i], errs[i] = res.Text, err
		}()
	}
	wg.Wait()
	for i := range prompts {
		if errs[i] != nil {
			t.Errorf("prompt %d: %v", i, errs[i])
		}
		if got[i] != want[i] || streamed[i].String() != want[i] {
			t.Errorf("prompt %q:\nbatched  %q\nstreamed %q\nsolo     %q", prompts[i], got[i], streamed[i].String(), want[i])
		}
	}
}

func TestBatcherCancelAndOverflow(t *testing.T) {
	e := loadStories(t, Options{Threads: 1, Context: 64})
	b, err := e.NewBatcher(2, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	res, err := b.Generate(ctx, e.Tokenize("", true, false), GenerateOptions{MaxTokens: 50}, func(Token) error {
		if n++; n == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || res.StopReason != StopCancelled {
		t.Errorf("cancel: err %v, stop %q", err, res.StopReason)
	}
	res, err = b.Generate(context.Background(), e.Tokenize("Once upon a time", true, false), GenerateOptions{}, nil)
	if !errors.Is(err, ErrContextOverflow) || res.StopReason != StopContext {
		t.Errorf("unbounded generation in 64 tokens: err %v, stop %q", err, res.StopReason)
	}
	long := e.Tokenize(strings.Repeat("Once upon a time ", 30), true, false)
	if _, err := b.Generate(context.Background(), long, GenerateOptions{}, nil); !errors.Is(err, ErrContextOverflow) {
		t.Errorf("prompt of %d tokens: err %v", len(long), err)
	}
	// The batcher still works afterwards.
	res, err = b.Generate(context.Background(), e.Tokenize("", true, false), GenerateOptions{MaxTokens: 8}, nil)
	if err != nil || len(res.Tokens) != 8 {
		t.Errorf("after errors: %d tokens, %v", len(res.Tokens), err)
	}
}

// SetThreads swaps the scheduler's worker pool between steps; answers do
// not change.
func TestBatcherSetThreads(t *testing.T) {
	e := loadStories(t, Options{Threads: 2, Context: 256})
	want := generate(t, e, "Once upon a time", GenerateOptions{MaxTokens: 24}).Text
	b, err := e.NewBatcher(2, 256)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, n := range []int{1, 2, 1, 9} {
		b.SetThreads(n)
		res, err := b.Generate(context.Background(), e.Tokenize("Once upon a time", true, false), GenerateOptions{MaxTokens: 24}, nil)
		if err != nil || res.Text != want {
			t.Errorf("threads %d: %q %v, want %q", n, res.Text, err, want)
		}
	}
	if prev := b.SetThreads(0); prev != 2 {
		t.Errorf("SetThreads(9) kept %d, want 2 (the engine's)", prev)
	}
	if prev := b.SetThreads(2); prev != 1 {
		t.Errorf("SetThreads(0) kept %d, want 1", prev)
	}
}
