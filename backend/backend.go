// Package backend is the contract between the HTTP server and whatever
// produces tokens: a local engine on this device or an upstream
// OpenAI-compatible server (another Tandem, vLLM, SGLang, TGI, Ollama,
// llama.cpp server). The server picks a Backend per request (the router's
// job) and streams its Events back to the client.
package backend

import (
	"context"
	"errors"
)

// Message is one chat turn.
type Message struct {
	Role    string // system, user, assistant (tool roles are passed through as text)
	Content string
}

// Request is one generation request, already validated by the server.
type Request struct {
	Model string
	// Exactly one of Messages (chat) and Prompt (raw completion) is set.
	Messages []Message
	Prompt   string
	// Continue is assistant text already sent to the client by another
	// backend that failed mid-stream: generation resumes after it, and it is
	// not sent again.
	Continue string

	MaxTokens        int // 0: until end of text or the context is full
	Stop             []string
	Temperature      *float64 // nil: backend default
	TopP             *float64
	TopK             int
	MinP             float64
	FrequencyPenalty float64
	PresencePenalty  float64
	Seed             *int64
	Logprobs         bool
	TopLogprobs      int
}

// TokenLogprob is one generated token's log-probability and alternatives.
type TokenLogprob struct {
	Token   string
	Logprob float64
	Top     []TopLogprob
}

// TopLogprob is one alternative token.
type TopLogprob struct {
	Token   string
	Logprob float64
}

// Event is a piece of generated text (complete UTF-8), with its tokens'
// log-probabilities when asked for.
type Event struct {
	Text     string
	Logprobs []TokenLogprob
}

// Usage counts tokens as the backend's tokenizer sees them.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// Final describes a finished generation.
type Final struct {
	FinishReason string // "stop" (end of text or a stop string) or "length"
	Usage        Usage
}

// Backend produces text for requests. Stream calls emit for each piece of
// text in order and returns when generation ends; an error from emit stops
// it and is returned. Cancelling ctx stops it promptly.
type Backend interface {
	Stream(ctx context.Context, req *Request, emit func(Event) error) (Final, error)
}

// Errors a Backend returns so the server can answer with the right status.
var (
	ErrContextLength = errors.New("context_length_exceeded") // 400: prompt (+ max_tokens) does not fit
	ErrOverloaded    = errors.New("overloaded")              // 429: queue full; retry later
	ErrUnavailable   = errors.New("unavailable")             // 503: draining, or no upstream reachable
	ErrBadRequest    = errors.New("bad request")             // 400: the backend rejected the request's fields
	// ErrEscalate: the backend is not confident in its answer and hands the
	// request (and the text it has sent so far) to the next, larger tier.
	ErrEscalate = errors.New("escalate: low confidence")
)
