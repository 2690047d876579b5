package tokenizer

// Gemma 4 (tokenizer.ggml.model = "gemma4") is a BPE with merges over
// SentencePiece-style pieces: llama.cpp replaces every space with U+2581,
// splits only at newline runs ([^\n]+|[\n]+), merges the raw UTF-8 (no GPT-2
// byte encoding), and falls back to <0xXX> byte tokens for what no token
// covers. tokenizer.ggml.add_space_prefix is false and the BPE path ignores
// it anyway; no space is prepended.

func newGemma4(v *Vocab) (encoder, error) {
	return newSPMStyleBPE(v, "gemma4")
}

// newSPMStyleBPE builds the Gemma 4 style encoder; pre is the
// tokenizer.ggml.pre that selected it (llama.cpp gives its whole-newline-run
// lookup to Gemma 4's pre type only, not to sarvam-moe).
func newSPMStyleBPE(v *Vocab, pre string) (encoder, error) {
	p, err := preTokenizerFor("gemma4")
	if err != nil {
		return nil, err
	}
	p.name = pre
	return buildBPE(v, p, bpeOptions{
		escapeSpaces: true,
		newlineWords: pre == "gemma4" || pre == "granite-embed-multi-311m",
	})
}
