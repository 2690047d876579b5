package kernels

import (
	"encoding/binary"
	"math"
)

// F16: IEEE binary16, 1 sign, 5 exponent (bias 15), 10 mantissa bits.
// BF16: the top 16 bits of a float32 (1 sign, 8 exponent, 7 mantissa bits).

// F16ToF32 converts IEEE half-precision bits to float32. Every half value,
// subnormals included, is exactly representable; NaN payloads are kept.
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal: rebias the exponent from 15 to 127
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	default: // zero or subnormal: mant * 2^-24, exact in float32
		v := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(v))
	}
}

// F32ToF16 converts f to IEEE half precision, rounding to nearest with ties
// to even, as ggml's GGML_FP32_TO_FP16 does. Values of 65520 and above in
// magnitude become Inf; NaN becomes the quiet NaN 0x7e00 with f's sign
// (ggml's portable conversion drops the payload).
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	abs := b &^ (1 << 31)
	switch {
	case abs > 0x7f800000: // NaN
		return sign | 0x7e00
	case abs >= 0x477ff000: // >= 65520, halfway from the largest half to 2^16
		return sign | 0x7c00
	case abs >= 0x38800000: // >= 2^-14: normal half
		// Rebias the exponent from 127 to 15, then drop 13 mantissa bits
		// rounding half to even; a carry correctly bumps the exponent.
		m := abs - (127-15)<<23
		return sign | uint16((m+0xfff+(m>>13)&1)>>13)
	case abs >= 0x33000000: // >= 2^-25: subnormal half (or rounds up to 2^-24)
		// The value is mant24 * 2^(e-150); in units of 2^-24 that is
		// mant24 >> (126-e), rounded half to even.
		e := abs >> 23
		m := abs&0x7fffff | 0x800000
		s := 126 - e
		return sign | uint16((m+(1<<(s-1))-1+(m>>s)&1)>>s)
	default: // below 2^-25 (2^-25 itself ties to even, zero)
		return sign
	}
}

// BF16ToF32 converts bfloat16 bits to float32 (exact).
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToBF16 converts f to bfloat16 as ggml does: round to nearest, ties to
// even, overflow to Inf; NaN keeps its top bits and is forced quiet.
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

func decodeF16(src []byte, dst []float32) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = F16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

func encodeF16(src []float32, dst []byte) {
	dst = dst[:2*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], F32ToF16(v))
	}
}

func dotF16(row []byte, x []float32) float32 {
	row = row[:2*len(x)]
	var sum float64
	for i, v := range x {
		sum += float64(F16ToF32(binary.LittleEndian.Uint16(row[2*i:]))) * float64(v)
	}
	return float32(sum)
}

func decodeBF16(src []byte, dst []float32) {
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

func encodeBF16(src []float32, dst []byte) {
	dst = dst[:2*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16(v))
	}
}

func dotBF16(row []byte, x []float32) float32 {
	row = row[:2*len(x)]
	var sum float64
	for i, v := range x {
		sum += float64(BF16ToF32(binary.LittleEndian.Uint16(row[2*i:]))) * float64(v)
	}
	return float32(sum)
}
