package gguf

import "fmt"

// Type is a ggml tensor element type, numbered as in ggml.h.
type Type uint32

// The tensor types Tandem reads and writes. Numbering follows ggml.
const (
	TypeF32  Type = 0
	TypeF16  Type = 1
	TypeQ4_0 Type = 2
	TypeQ4_1 Type = 3
	TypeQ5_0 Type = 6
	TypeQ5_1 Type = 7
	TypeQ8_0 Type = 8
	TypeQ8_1 Type = 9
	TypeQ2_K Type = 10
	TypeQ3_K Type = 11
	TypeQ4_K Type = 12
	TypeQ5_K Type = 13
	TypeQ6_K Type = 14
	TypeQ8_K Type = 15
	TypeBF16 Type = 30
)

// typeInfo is the block layout of one type: BlockSize values are stored in
// BlockBytes bytes.
type typeInfo struct {
	name       string
	blockSize  int
	blockBytes int
	supported  bool // Tandem can dequantize it
}

// QK_K is the super-block size of the k-quants.
const QK_K = 256

var typeTable = map[Type]typeInfo{
	TypeF32:  {"F32", 1, 4, true},
	TypeF16:  {"F16", 1, 2, true},
	TypeQ4_0: {"Q4_0", 32, 2 + 16, true},
	TypeQ4_1: {"Q4_1", 32, 2 + 2 + 16, true},
	TypeQ5_0: {"Q5_0", 32, 2 + 4 + 16, true},
	TypeQ5_1: {"Q5_1", 32, 2 + 2 + 4 + 16, true},
	TypeQ8_0: {"Q8_0", 32, 2 + 32, true},
	TypeQ8_1: {"Q8_1", 32, 4 + 32, false},
	TypeQ2_K: {"Q2_K", QK_K, QK_K/16 + QK_K/4 + 2 + 2, false},
	TypeQ3_K: {"Q3_K", QK_K, QK_K/8 + QK_K/4 + 12 + 2, false},
	TypeQ4_K: {"Q4_K", QK_K, 2 + 2 + 12 + QK_K/2, true},
	TypeQ5_K: {"Q5_K", QK_K, 2 + 2 + 12 + QK_K/8 + QK_K/2, true},
	TypeQ6_K: {"Q6_K", QK_K, QK_K/2 + QK_K/4 + QK_K/16 + 2, true},
	TypeQ8_K: {"Q8_K", QK_K, 4 + QK_K + QK_K/16*2, true},
	TypeBF16: {"BF16", 1, 2, true},
}

// String returns ggml's name for the type, e.g. "Q4_K".
func (t Type) String() string {
	if ti, ok := typeTable[t]; ok {
		return ti.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// Known reports whether the type's block layout is known.
func (t Type) Known() bool { _, ok := typeTable[t]; return ok }

// Supported reports whether Tandem can compute with tensors of this type.
func (t Type) Supported() bool { return typeTable[t].supported }

// BlockSize is the number of values in one block (1 for float types).
func (t Type) BlockSize() int { return typeTable[t].blockSize }

// BlockBytes is the size in bytes of one block.
func (t Type) BlockBytes() int { return typeTable[t].blockBytes }

// RowBytes is the number of bytes n values take; n must be a multiple of
// BlockSize.
func (t Type) RowBytes(n int) int { return n / t.BlockSize() * t.BlockBytes() }

// SupportedTypes lists the types Tandem computes with, for error messages.
func SupportedTypes() []Type {
	return []Type{TypeF32, TypeF16, TypeBF16, TypeQ8_0, TypeQ4_0, TypeQ4_1, TypeQ5_0,
		TypeQ5_1, TypeQ4_K, TypeQ5_K, TypeQ6_K, TypeQ8_K}
}

// TypeByName finds a type by its ggml name (case-sensitive, e.g. "Q8_0").
func TypeByName(name string) (Type, bool) {
	for t, ti := range typeTable {
		if ti.name == name {
			return t, true
		}
	}
	return 0, false
}
