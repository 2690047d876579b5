package model

// qwen2 is Llama with biases on the q, k and v projections and NeoX-style
// RoPE (Qwen2, Qwen2.5).
var qwen2 = Arch{Name: "qwen2", Rope: RopeNeoX, QKVBias: true}
