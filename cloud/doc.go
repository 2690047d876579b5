// Package cloud is Tandem's upstream client: a Pool of OpenAI-compatible
// replicas (another Tandem, vLLM, SGLang, TGI, Ollama, llama.cpp server)
// behind the backend.Backend interface, and Chain, failover across tiers
// of Backends (cloud pool, then the local engine).
//
// The Pool streams from one replica at a time (least outstanding requests
// per unit of weight, ties by smooth weighted round-robin), retries
// failures before the first text on another replica with exponential
// backoff and jitter, opens a per-replica circuit breaker after repeated
// failures, probes replicas' health in the background, and resumes an
// answer that broke mid-stream on another replica so that the caller sees
// one uninterrupted answer.
//
// # Continue protocol
//
// A request with Continue set (or a mid-stream failover) asks the upstream
// to resume an assistant message. For chat, the messages are sent followed
// by {"role":"assistant","content":Continue} with the vLLM/SGLang
// extensions "continue_final_message": true and "add_generation_prompt":
// false, which render the chat template without closing the assistant
// turn. Servers without these extensions (the OpenAI API itself, some
// proxies) reject the unknown fields or, worse, answer a new turn after
// the assistant message; there is no portable alternative, since falling
// back to /completions would need the model's chat template, which only
// the server knows. Point a Pool at servers that honour the extensions if
// mid-stream failover matters. For /completions, Continue is appended to
// the prompt, which every server honours. A continuation rejected with 400
// after this Pool emitted text is reported as ErrUnavailable (so Chain
// moves on to the next tier) rather than ErrBadRequest; a context-length
// error there ends the answer with finish_reason "length", as the
// uninterrupted generation would have.
//
// # Usage across failover
//
// When an answer was stitched from several attempts, Final.Usage takes the
// last attempt's counts (whose prompt included the text already sent) and
// moves the earlier attempts' tokens from prompt to completion:
// CompletionTokens = last completion + earlier tokens, PromptTokens = last
// prompt − earlier tokens (at least 0), so the total is the last replica's
// view of the whole sequence. Earlier, broken attempts rarely report
// usage, so their tokens are estimated: one per logprob entry when
// logprobs were asked for, else one per streamed chunk (servers stream one
// token per chunk unless told otherwise). MaxTokens for a continuation is
// reduced by the same estimate. Tokens an upstream generated but that
// never reached us are not counted. On error, Final.Usage.CompletionTokens
// still carries the estimate of what was emitted, for Chain.
//
// # Failures
//
// Before the first text of an attempt, connect errors, 5xx (and 401, 403,
// 404: a misconfigured replica), 429, FirstByteTimeout, a stall and a cut
// stream are retried on another replica (untried and healthy first) after
// a backoff (25ms·2^(n−1), capped at 1s, jittered to [½, 1) of that), up
// to MaxAttempts (3). After text was emitted, the same failures resume the
// answer on another replica at once, up to MaxFailovers (3) times. 400,
// 413 and 422 are the request's fault and are not retried: a
// context-length code or message gives backend.ErrContextLength, others
// backend.ErrBadRequest with the upstream's message. When every attempt
// failed the error wraps backend.ErrUnavailable and the last
// *UpstreamError (backend.ErrOverloaded if they all were 429s). A breaker
// opens after BreakerThreshold (3) consecutive failures; an open replica
// is not dialled for BreakerCooldown (5s), then one request probes it
// (half-open) and closes or re-opens it. 429s and cancellations leave the
// breaker as it is.
//
// The client is plain net/http with its own SSE parser rather than an SDK:
// failover needs control of each attempt (deadlines per phase, telling a
// cut stream from a finished one, which bytes were already passed on) and
// vLLM/SGLang request extensions, which an SDK's own retries and typed
// requests would get in the way of.
package cloud
