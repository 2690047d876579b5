package model

// qwen3 drops Qwen2's biases and instead RMS-normalises each head of q and k
// before RoPE; its head size may differ from dim/heads (key_length).
var qwen3 = Arch{Name: "qwen3", Rope: RopeNeoX, QKNorm: true}
