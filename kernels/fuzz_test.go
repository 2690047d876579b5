package kernels

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/tandem-llm/tandem/gguf"
)

// dotProbe is a fixed vector for checking Dot against DotF32Ref.
func dotProbe(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i%7) - 2.5
	}
	return x
}

// FuzzDequantize: any type id, value count and bytes must give either an
// error or values, never a panic; when it succeeds, Dot must agree with it.
func FuzzDequantize(f *testing.F) {
	f.Add(uint32(gguf.TypeQ4_0), uint16(32), make([]byte, 18))
	f.Add(uint32(gguf.TypeQ6_K), uint16(256), make([]byte, 210))
	f.Add(uint32(1000), uint16(1), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, typ uint32, n uint16, data []byte) {
		ty := gguf.Type(typ)
		dst := make([]float32, int(n)%2048)
		if err := Dequantize(ty, data, dst); err != nil {
			return
		}
		if !ty.Supported() || len(dst)%ty.BlockSize() != 0 || len(data) < ty.RowBytes(len(dst)) {
			t.Fatalf("%v: Dequantize accepted %d values from %d bytes", ty, len(dst), len(data))
		}
		x := dotProbe(len(dst))
		if d, want := Dot(ty, data, x), DotF32Ref(dst, x); !sameFloat(d, want) {
			t.Fatalf("%v: Dot %g, DotF32Ref(Dequantize) %g", ty, d, want)
		}
	})
}

// roundTripTol is the largest round-trip error allowed, as a fraction of the
// block's largest magnitude, for finite blocks with that magnitude in
// [1e-2, 1e3] (where the F16 scales are neither subnormal nor overflowing).
// It is about one quantization step for the 32-value types (whose extreme
// values can be clamped by one step) and a few steps for the k-quants, where
// the scale search and the 6-bit scales can clip a sub-block.
func roundTripTol(ty gguf.Type) float32 {
	switch ty {
	case gguf.TypeF32:
		return 0
	case gguf.TypeF16:
		return 1.0 / 2048
	case gguf.TypeBF16:
		return 1.0 / 256
	case gguf.TypeQ8_0, gguf.TypeQ8_K:
		return 0.006
	case gguf.TypeQ4_0:
		return 0.13
	case gguf.TypeQ4_1, gguf.TypeQ5_0:
		return 0.07
	case gguf.TypeQ5_1:
		return 0.04
	case gguf.TypeQ4_K:
		return 0.35
	case gguf.TypeQ5_K:
		return 0.2
	case gguf.TypeQ6_K:
		return 0.1
	}
	panic("no tolerance for " + ty.String())
}

// FuzzQuantizeRoundTrip quantizes fuzzed values with a fuzzed type. sel
// picks the type; its top bit selects raw float32 bit patterns (NaN, Inf,
// subnormals: only no-panic and determinism are checked), otherwise values
// are int16s scaled by 2^exp and must round-trip within roundTripTol.
func FuzzQuantizeRoundTrip(f *testing.F) {
	f.Add(byte(3), int8(-10), make([]byte, 64))
	f.Add(byte(0x80|9), int8(0), make([]byte, 1024))
	f.Fuzz(func(t *testing.T, sel byte, exp int8, data []byte) {
		types := gguf.SupportedTypes()
		ty := types[int(sel&0x7f)%len(types)]
		raw := sel&0x80 != 0
		var x []float32
		if raw {
			for i := 0; i+4 <= len(data); i += 4 {
				x = append(x, math.Float32frombits(binary.LittleEndian.Uint32(data[i:])))
			}
		} else {
			scale := float32(math.Ldexp(1, int(exp)%40))
			for i := 0; i+2 <= len(data); i += 2 {
				x = append(x, float32(int16(binary.LittleEndian.Uint16(data[i:])))*scale)
			}
		}
		bs := ty.BlockSize()
		if len(x) < bs {
			// Pad short inputs to one block so small corpora still test
			// the block types.
			x = append(x, make([]float32, bs-len(x))...)
		}
		x = x[:len(x)/bs*bs]

		q := quantize(t, ty, x)
		if again := quantize(t, ty, x); string(again) != string(q) {
			t.Fatalf("%v: Quantize is not deterministic", ty)
		}
		y := dequantize(t, ty, q, len(x))
		probe := dotProbe(len(x))
		if d, want := Dot(ty, q, probe), DotF32Ref(y, probe); !sameFloat(d, want) {
			t.Fatalf("%v: Dot %g, DotF32Ref(Dequantize) %g", ty, d, want)
		}
		if raw {
			return
		}
		blk := max(bs, 32) // float types: judge 32 values at a time too
		if ty.BlockSize() == 1 {
			blk = 1
		}
		for b := 0; b+blk <= len(x); b += blk {
			amax, _ := absMax(x[b : b+blk])
			if amax < 1e-2 || amax > 1e3 {
				continue
			}
			tol := roundTripTol(ty) * amax
			for i := b; i < b+blk; i++ {
				if e := abs32(y[i] - x[i]); e > tol {
					t.Fatalf("%v: value %d = %g decodes to %g: error %g > %g (block max %g)",
						ty, i, x[i], y[i], e, tol, amax)
				}
			}
		}
	})
}
