package local

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/tandem-llm/tandem/backend"
	"github.com/tandem-llm/tandem/chat"
	"github.com/tandem-llm/tandem/engine"
	"github.com/tandem-llm/tandem/internal/testdata"
)

func load(t *testing.T, o Options) *Backend {
	t.Helper()
	e, err := engine.Load(testdata.SharedFile(t, "models/stories260K/stories260K.gguf"), engine.Options{Threads: 2, Context: 256})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := chat.ByName("chatml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(e, &tmpl, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(); e.Close() })
	return b
}

func stream(b *Backend, req *backend.Request) (string, backend.Final, error) {
	var sb strings.Builder
	fin, err := b.Stream(context.Background(), req, func(ev backend.Event) error {
		sb.WriteString(ev.Text)
		return nil
	})
	return sb.String(), fin, err
}

func TestCompletionGreedy(t *testing.T) {
	b := load(t, Options{})
	zero := 0.0
	text, fin, err := stream(b, &backend.Request{Prompt: "Once upon a time", MaxTokens: 12, Temperature: &zero})
	if err != nil {
		t.Fatal(err)
	}
	if text != ", there was a little girl named Lily. She" || fin.FinishReason != "length" ||
		fin.Usage != (backend.Usage{PromptTokens: 5, CompletionTokens: 12}) {
		t.Errorf("text %q, final %+v", text, fin)
	}
	// Continue resumes after text another backend already sent.
	text, _, err = stream(b, &backend.Request{Prompt: "Once upon a time", Continue: ", there was a little girl", MaxTokens: 3, Temperature: &zero})
	if err != nil || text != " named Lily." {
		t.Errorf("continued: %q, %v", text, err)
	}
	// Chat requests render the template (ChatML, as configured).
	if _, _, err := stream(b, &backend.Request{Messages: []backend.Message{{Role: "user", Content: "Hi"}}, MaxTokens: 4}); err != nil {
		t.Errorf("chat: %v", err)
	}
}

func TestLogprobsAndStop(t *testing.T) {
	b := load(t, Options{})
	zero := 0.0
	var evs []backend.Event
	_, err := b.Stream(context.Background(), &backend.Request{Prompt: "Once upon a time", MaxTokens: 5, Temperature: &zero, Logprobs: true, TopLogprobs: 2},
		func(ev backend.Event) error { evs = append(evs, ev); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 || len(evs[0].Logprobs) != 1 || len(evs[0].Logprobs[0].Top) != 2 || evs[0].Logprobs[0].Logprob > 0 {
		t.Errorf("logprobs: %+v", evs)
	}
	text, fin, err := stream(b, &backend.Request{Prompt: "Once upon a time", MaxTokens: 50, Temperature: &zero, Stop: []string{"Lily"}})
	if err != nil || text != ", there was a little girl named " || fin.FinishReason != "stop" {
		t.Errorf("stop: %q %+v %v", text, fin, err)
	}
}

func TestAdmission(t *testing.T) {
	b := load(t, Options{Parallel: 2, Queue: 2})
	zero := 0.0
	// Many concurrent requests: each either completes with its own answer
	// or is refused as overloaded; none is mixed up.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, overloaded := 0, 0
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text, _, err := stream(b, &backend.Request{Prompt: "Once upon a time", MaxTokens: 40, Temperature: &zero})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, backend.ErrOverloaded):
				overloaded++
			case err != nil:
				t.Error(err)
			case !strings.HasPrefix(text, ", there was a little girl named Lily"):
				t.Errorf("answer %q", text)
			default:
				ok++
			}
		}()
	}
	wg.Wait()
	if ok < 4 || ok+overloaded != 12 {
		t.Errorf("%d answered, %d overloaded", ok, overloaded)
	}
	t.Logf("%d answered, %d refused as overloaded", ok, overloaded)
	_, _, err := stream(b, &backend.Request{Prompt: strings.Repeat("Once upon a time ", 80)})
	if !errors.Is(err, backend.ErrContextLength) {
		t.Errorf("long prompt: %v", err)
	}
}
