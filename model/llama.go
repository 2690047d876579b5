package model

// llama covers Llama 2 and 3, TinyLlama, SmolLM and stories260K: pre-norm
// blocks, RMSNorm, SwiGLU feed-forward, RoPE on adjacent pairs, grouped-query
// attention, optional rope_freqs.weight (Llama 3.1+ scaling) and tied output.
var llama = Arch{Name: "llama", Rope: RopeNormal}
