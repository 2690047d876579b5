#!/usr/bin/env bash
# Writes the synthetic benchmark models (real shapes, random weights, real
# vocabularies from ../shared/tokenizer) into $TANDEM_MODELS_DIR (default
# ~/.cache/tandem-models), skipping files that exist. They are not committed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${TANDEM_MODELS_DIR:-$HOME/.cache/tandem-models}
mkdir -p "$out"
go build -o "$out/tandem" ./cmd/tandem
for preset in smollm2-135m qwen2.5-0.5b llama3.2-1b; do
	for type in Q8_0 Q4_0 Q4_K_M; do
		f="$out/$preset-$type.gguf"
		[ -f "$f" ] || "$out/tandem" synth --preset "$preset" --type "$type" --vocab-dir ../shared/tokenizer -o "$f"
	done
done
ls -l "$out"/*.gguf
