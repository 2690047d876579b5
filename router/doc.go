// Package router predicts, on the device and in well under a millisecond,
// whether a request needs a stronger tier than the local model: a logistic
// regression over dense prompt features (length, scripts, digits, math and
// code markers, question type, multiple-choice options, and the local
// model's own Signals when loaded) and hashed word uni/bi-grams and
// character trigrams (2^14 buckets). Scorer.Score returns that need in [0,1];
// Threshold turns scores into decisions at a target share of strong-tier
// calls, following traffic drift. Training (Train) is deterministic
// L-BFGS; the data handling and metrics are in router/offline.
//
// The embedded default model (default_model.json) is trained on RouteLLM's
// MMLU and GSM8K correctness data, weak = Mixtral-8x7B, strong = GPT-4, on
// the training subjects only (seed 1 holds out 17 of 58 subjects), with
//
//	go run ./cmd/tandem router train --data ../shared/routing/routellm \
//		--strong gpt-4 --weak mixtral -o router/default_model.json
//
// TestDefaultModelReproducible (router/offline) retrains it and checks the
// file is identical.
package router
