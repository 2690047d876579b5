// Package kernels holds the plain-Go reference implementations of the ggml
// tensor types: conversion, dequantization, reference quantization and dot
// products.
//
// Block layouts follow ggml-common.h and the quantizers follow ggml-quants.c's
// quantize_row_*_ref, operation for operation in float32, so Quantize writes
// the same bytes as llama-quantize does from the same F32 input without an
// importance matrix (checked against llama.cpp's files in parity_test.go).
// Inputs holding NaN are the exception: which NaN payload C propagates depends
// on the compiler's operand order, so such blocks may differ. Products that
// feed a sum are converted to float32 explicitly, which stops Go from fusing
// them into FMAs (as it does on arm64 or GOAMD64=v3) and keeps the bytes the
// same on every platform.
//
// These functions are the oracle that faster kernels are tested against:
// they favour being obviously right over speed.
package kernels

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/tandem-llm/tandem/gguf"
)

// checkSizes validates a conversion of n values of type t held in nbytes
// bytes. op names the caller for the error message.
func checkSizes(op string, t gguf.Type, n, nbytes int) error {
	if !t.Supported() {
		return fmt.Errorf("kernels: %s: unsupported tensor type %v", op, t)
	}
	bs := t.BlockSize()
	if n%bs != 0 {
		return fmt.Errorf("kernels: %s %v: %d values is not a multiple of the block size %d", op, t, n, bs)
	}
	if need := t.RowBytes(n); nbytes < need {
		return fmt.Errorf("kernels: %s %v: %d values need %d bytes, have %d", op, t, n, need, nbytes)
	}
	return nil
}

// Dequantize decodes len(dst) values of type t from src. len(dst) must be a
// multiple of t's block size and src must hold at least t.RowBytes(len(dst))
// bytes; extra bytes are ignored.
func Dequantize(t gguf.Type, src []byte, dst []float32) error {
	if err := checkSizes("Dequantize", t, len(dst), len(src)); err != nil {
		return err
	}
	switch t {
	case gguf.TypeF32:
		decodeF32(src, dst)
	case gguf.TypeF16:
		decodeF16(src, dst)
	case gguf.TypeBF16:
		decodeBF16(src, dst)
	default:
		bs, bb := t.BlockSize(), t.BlockBytes()
		for i := 0; i < len(dst)/bs; i++ {
			decodeBlock(t, src[i*bb:(i+1)*bb], dst[i*bs:(i+1)*bs])
		}
	}
	return nil
}

// Quantize encodes src as type t into dst with ggml's reference quantizer.
// len(src) must be a multiple of t's block size and dst must hold at least
// t.RowBytes(len(src)) bytes; bytes beyond that are left alone.
func Quantize(t gguf.Type, src []float32, dst []byte) error {
	if err := checkSizes("Quantize", t, len(src), len(dst)); err != nil {
		return err
	}
	switch t {
	case gguf.TypeF32:
		encodeF32(src, dst)
	case gguf.TypeF16:
		encodeF16(src, dst)
	case gguf.TypeBF16:
		encodeBF16(src, dst)
	default:
		bs, bb := t.BlockSize(), t.BlockBytes()
		for i := 0; i < len(src)/bs; i++ {
			encodeBlock(t, src[i*bs:(i+1)*bs], dst[i*bb:(i+1)*bb])
		}
	}
	return nil
}

// Dot returns the dot product of one encoded row of type t with x. The row
// holds len(x) values: the caller guarantees that t is supported, len(x) is a
// multiple of t's block size and len(row) >= t.RowBytes(len(x)); otherwise Dot
// panics.
//
// Each block is decoded exactly as Dequantize does and the products are summed
// in element order in float64, so the result equals
// DotF32(Dequantize(row), x) bit for bit.
func Dot(t gguf.Type, row []byte, x []float32) float32 {
	switch t {
	case gguf.TypeF32:
		return dotF32(row, x)
	case gguf.TypeF16:
		return dotF16(row, x)
	case gguf.TypeBF16:
		return dotBF16(row, x)
	}
	if !t.Supported() {
		panic(fmt.Sprintf("kernels: Dot: unsupported tensor type %v", t))
	}
	bs, bb := t.BlockSize(), t.BlockBytes()
	if len(x)%bs != 0 {
		panic(fmt.Sprintf("kernels: Dot %v: %d values is not a multiple of the block size %d", t, len(x), bs))
	}
	// One super-block of scratch on the stack: decodeBlock is called
	// directly, so the buffer does not escape and Dot does not allocate.
	var buf [gguf.QK_K]float32
	var sum float64
	for i := 0; i < len(x)/bs; i++ {
		y := buf[:bs]
		decodeBlock(t, row[i*bb:(i+1)*bb], y)
		for j, v := range x[i*bs : (i+1)*bs] {
			sum += float64(y[j]) * float64(v)
		}
	}
	return float32(sum)
}

// MatVec sets dst[r] to the dot product of row r of w with x, for each of the
// len(dst) rows. Rows hold len(x) values of type t and are t.RowBytes(len(x))
// bytes apart. Size requirements are those of Dot.
func MatVec(dst []float32, t gguf.Type, w []byte, x []float32) {
	if !t.Supported() { // RowBytes would divide by zero
		panic(fmt.Sprintf("kernels: MatVec: unsupported tensor type %v", t))
	}
	stride := t.RowBytes(len(x))
	for r := range dst {
		dst[r] = Dot(t, w[r*stride:(r+1)*stride], x)
	}
}

// decodeBlock decodes one block of a block-quantized type.
func decodeBlock(t gguf.Type, b []byte, y []float32) {
	switch t {
	case gguf.TypeQ8_0:
		decodeQ8_0(b, y)
	case gguf.TypeQ4_0:
		decodeQ4_0(b, y)
	case gguf.TypeQ4_1:
		decodeQ4_1(b, y)
	case gguf.TypeQ5_0:
		decodeQ5_0(b, y)
	case gguf.TypeQ5_1:
		decodeQ5_1(b, y)
	case gguf.TypeQ4_K:
		decodeQ4_K(b, y)
	case gguf.TypeQ5_K:
		decodeQ5_K(b, y)
	case gguf.TypeQ6_K:
		decodeQ6_K(b, y)
	case gguf.TypeQ8_K:
		decodeQ8_K(b, y)
	default:
		panic(fmt.Sprintf("kernels: no block decoder for %v", t))
	}
}

// encodeBlock quantizes one block of a block-quantized type.
func encodeBlock(t gguf.Type, x []float32, b []byte) {
	switch t {
	case gguf.TypeQ8_0:
		encodeQ8_0(x, b)
	case gguf.TypeQ4_0:
		encodeQ4_0(x, b)
	case gguf.TypeQ4_1:
		encodeQ4_1(x, b)
	case gguf.TypeQ5_0:
		encodeQ5_0(x, b)
	case gguf.TypeQ5_1:
		encodeQ5_1(x, b)
	case gguf.TypeQ4_K:
		encodeQ4_K(x, b)
	case gguf.TypeQ5_K:
		encodeQ5_K(x, b)
	case gguf.TypeQ6_K:
		encodeQ6_K(x, b)
	case gguf.TypeQ8_K:
		encodeQ8_K(x, b)
	default:
		panic(fmt.Sprintf("kernels: no block encoder for %v", t))
	}
}

// Helpers shared by the block codecs. They pin down the C semantics the
// reference quantizers rely on, so results do not depend on the platform.

// loadF16 reads a little-endian F16 at b[0:2] as float32.
func loadF16(b []byte) float32 { return F16ToF32(binary.LittleEndian.Uint16(b)) }

// storeF16 writes f rounded to F16 at b[0:2].
func storeF16(b []byte, f float32) { binary.LittleEndian.PutUint16(b, F32ToF16(f)) }

// abs32 is fabsf.
func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

// sqrt32 is sqrtf: the float64 square root rounded to float32 is the
// correctly rounded float32 square root.
func sqrt32(f float32) float32 { return float32(math.Sqrt(float64(f))) }

// nearestInt is ggml's nearest_int: adding 1.5*2^23 makes the float adder
// round to an integer (half to even) in the low mantissa bits. Outside
// |f| <= 2^22 it returns the same wrapped values as ggml. The float32()
// keeps Go from fusing a product passed in as f into the add.
func nearestInt(f float32) int32 {
	v := float32(f) + 12582912
	return int32(math.Float32bits(v)&0x7fffff) - 0x400000
}

// truncInt is C's float-to-int conversion as x86 performs it (cvttss2si):
// truncation toward zero, and INT32_MIN for NaN or out-of-range values, where
// C leaves the result undefined and Go leaves it implementation-dependent.
// Narrower C casts such as (int8_t) then keep the low bits.
func truncInt(f float32) int32 {
	if !(f > -2147483904 && f < 2147483648) { // also catches NaN
		return math.MinInt32
	}
	return int32(f)
}

// roundInt is roundf (half away from zero) followed by truncInt.
func roundInt(f float32) int32 { return truncInt(float32(math.Round(float64(f)))) }

// absMax returns the largest |x[i]| and the signed value that has it (the
// first one on ties), as ggml's "amax/max" loops do.
func absMax(x []float32) (amax, maxv float32) {
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, maxv = a, v
		}
	}
	return amax, maxv
}
