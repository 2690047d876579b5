// Package gguf reads and writes GGUF model files (versions 1–3).
//
// The reader memory-maps the file: metadata is parsed into Go values, tensor
// data stays in the mapping and is handed out as byte slices. Every count,
// length, offset and dimension is checked against the file size before use, so
// a truncated or corrupt file gives an error, never a panic or a huge
// allocation.
package gguf

import (
	"fmt"
	"math"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is used when general.alignment is absent.
const DefaultAlignment = 32

// MaxDims is ggml's limit on tensor rank.
const MaxDims = 4

// ValueType is the type tag of a metadata value.
type ValueType uint32

// Metadata value types, numbered as in the GGUF spec.
const (
	ValUint8   ValueType = 0
	ValInt8    ValueType = 1
	ValUint16  ValueType = 2
	ValInt16   ValueType = 3
	ValUint32  ValueType = 4
	ValInt32   ValueType = 5
	ValFloat32 ValueType = 6
	ValBool    ValueType = 7
	ValString  ValueType = 8
	ValArray   ValueType = 9
	ValUint64  ValueType = 10
	ValInt64   ValueType = 11
	ValFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32",
	"float32", "bool", "string", "array", "uint64", "int64", "float64"}

func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("valuetype(%d)", uint32(t))
}

// KV is one metadata entry. Value holds the Go type matching the GGUF type:
// uint8, int8, uint16, int16, uint32, int32, float32, bool, string, uint64,
// int64, float64, or for arrays a slice of one of those ([]string, []int32,
// []float32, …) or []any for arrays of arrays.
type KV struct {
	Key   string
	Value any
}

// TensorInfo describes one tensor. Dims lists ne0 (the contiguous row length)
// first, as ggml does.
type TensorInfo struct {
	Name   string
	Dims   []uint64
	Type   Type
	Offset uint64 // from the start of the data section
}

// NumElements is the product of the dimensions.
func (ti TensorInfo) NumElements() uint64 {
	n := uint64(1)
	for _, d := range ti.Dims {
		n *= d
	}
	return n
}

// Size is the tensor's data size in bytes (0 for an unknown type).
func (ti TensorInfo) Size() uint64 {
	if !ti.Type.Known() {
		return 0
	}
	return ti.NumElements() / uint64(ti.Type.BlockSize()) * uint64(ti.Type.BlockBytes())
}

// validate checks the shape and type; it guards against overflow so that
// Size and NumElements are safe to call afterwards.
func (ti TensorInfo) validate() error {
	if !ti.Type.Known() {
		return fmt.Errorf("tensor %q: unknown tensor type %d", ti.Name, uint32(ti.Type))
	}
	if len(ti.Dims) == 0 || len(ti.Dims) > MaxDims {
		return fmt.Errorf("tensor %q: %d dimensions (want 1..%d)", ti.Name, len(ti.Dims), MaxDims)
	}
	n := uint64(1)
	for i, d := range ti.Dims {
		if d == 0 || d > math.MaxInt64/uint64(ti.Type.BlockBytes()+1) {
			return fmt.Errorf("tensor %q: dimension %d is %d", ti.Name, i, d)
		}
		if n > math.MaxInt64/d {
			return fmt.Errorf("tensor %q: element count overflows", ti.Name)
		}
		n *= d
	}
	if n > math.MaxInt64/uint64(ti.Type.BlockBytes()) {
		return fmt.Errorf("tensor %q: size overflows", ti.Name)
	}
	if bs := uint64(ti.Type.BlockSize()); ti.Dims[0]%bs != 0 {
		return fmt.Errorf("tensor %q: row length %d is not a multiple of the %s block size %d",
			ti.Name, ti.Dims[0], ti.Type, bs)
	}
	return nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }
