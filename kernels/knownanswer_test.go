package kernels

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"testing"

	"github.com/tandem-llm/tandem/gguf"
)

// Known-answer tests: blocks built by hand from ggml-common.h's layouts,
// with the expected values computed from the layout description rather than
// from the decoder, so layout bugs show up independently of the quantizer.
// All expected values are exact in float32.

func checkDecode(t *testing.T, ty gguf.Type, block []byte, want func(i int) float32) {
	t.Helper()
	if len(block) != ty.BlockBytes() {
		t.Fatalf("%v: test block is %d bytes, want %d", ty, len(block), ty.BlockBytes())
	}
	y := dequantize(t, ty, block, ty.BlockSize())
	for i, v := range y {
		if w := want(i); v != w {
			t.Fatalf("%v: value %d = %g, want %g", ty, i, v, w)
		}
	}
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }

func bit(x uint32, i int) int { return int(x>>i) & 1 }

func TestKnownDecodeQ8_0(t *testing.T) {
	b := le16(0x3800) // d = 0.5
	for j := range 32 {
		b = append(b, byte(int8(j*8-128)))
	}
	checkDecode(t, gguf.TypeQ8_0, b, func(i int) float32 { return float32(i*8-128) * 0.5 })
	if y := dequantize(t, gguf.TypeQ8_0, b, 32); y[0] != -64 || y[31] != 60 {
		t.Fatalf("Q8_0 spot values %g %g", y[0], y[31])
	}
}

func TestKnownDecodeQ4_0(t *testing.T) {
	b := le16(0x4000) // d = 2
	for j := range 16 {
		b = append(b, byte(j)|byte(15-j)<<4)
	}
	checkDecode(t, gguf.TypeQ4_0, b, func(i int) float32 {
		if i < 16 {
			return float32(i-8) * 2
		}
		return float32(15-(i-16)-8) * 2
	})
	if y := dequantize(t, gguf.TypeQ4_0, b, 32); y[0] != -16 || y[15] != 14 || y[16] != 14 || y[31] != -16 {
		t.Fatalf("Q4_0 spot values %v", y)
	}
}

func TestKnownDecodeQ4_1(t *testing.T) {
	b := append(le16(0x3800), le16(0xbc00)...) // d = 0.5, m = -1
	for j := range 16 {
		b = append(b, byte(j)|byte(15-j)<<4)
	}
	checkDecode(t, gguf.TypeQ4_1, b, func(i int) float32 {
		q := i
		if i >= 16 {
			q = 15 - (i - 16)
		}
		return float32(q)*0.5 - 1
	})
}

func TestKnownDecodeQ5_0(t *testing.T) {
	const qh = 0xa5a50f0f
	b := append(le16(0x3c00), binary.LittleEndian.AppendUint32(nil, qh)...) // d = 1
	for j := range 16 {
		b = append(b, byte(j)|byte(j^15)<<4)
	}
	checkDecode(t, gguf.TypeQ5_0, b, func(i int) float32 {
		lo := i
		if i >= 16 {
			lo = (i - 16) ^ 15
		}
		return float32(lo|bit(qh, i)<<4) - 16
	})
	if y := dequantize(t, gguf.TypeQ5_0, b, 32); y[0] != 0 || y[4] != -12 || y[16] != 15 {
		t.Fatalf("Q5_0 spot values %v", y)
	}
}

func TestKnownDecodeQ5_1(t *testing.T) {
	const qh = 0x12345678
	b := append(le16(0x3400), le16(0x3c00)...) // d = 0.25, m = 1
	b = binary.LittleEndian.AppendUint32(b, qh)
	for j := range 16 {
		b = append(b, byte(j*5&15)|byte(j*3&15)<<4)
	}
	checkDecode(t, gguf.TypeQ5_1, b, func(i int) float32 {
		lo := (i * 5) & 15
		if i >= 16 {
			lo = ((i - 16) * 3) & 15
		}
		return float32(lo|bit(qh, i)<<4)*0.25 + 1
	})
}

// kScales packs 8 six-bit scales and mins into the 12-byte Q4_K/Q5_K
// layout: bytes 0-3 scales 0-3, bytes 4-7 mins 0-3, each with the top two
// bits of scale/min 4-7 in bits 6-7; bytes 8-11 the low nibbles of scale
// 4-7 (low) and min 4-7 (high).
func kScales(sc, mn [8]byte) []byte {
	b := make([]byte, 12)
	for j := range 4 {
		b[j] = sc[j] | sc[j+4]>>4<<6
		b[j+4] = mn[j] | mn[j+4]>>4<<6
		b[j+8] = sc[j+4]&0xf | mn[j+4]&0xf<<4
	}
	return b
}

// kScalesMins are the scales and mins used in the Q4_K/Q5_K tests; several
// exceed 15 so the packed top bits are exercised.
func kScalesMins() (sc, mn [8]byte) {
	return [8]byte{1, 2, 3, 4, 17, 33, 50, 63}, [8]byte{0, 1, 2, 3, 20, 40, 60, 63}
}

func TestKnownDecodeQ4_K(t *testing.T) {
	kSc, kMn := kScalesMins()
	b := append(le16(0x3c00), le16(0x3800)...) // d = 1, dmin = 0.5
	b = append(b, kScales(kSc, kMn)...)
	for l := range 128 {
		b = append(b, byte(l*7))
	}
	qs := b[16:]
	// Sub-block s uses qs[32*(s/2):]: low nibbles for even s, high for odd.
	checkDecode(t, gguf.TypeQ4_K, b, func(i int) float32 {
		s, l := i/32, i%32
		q := qs[32*(s/2)+l]
		if s%2 == 0 {
			q &= 0xf
		} else {
			q >>= 4
		}
		return float32(kSc[s])*float32(q) - 0.5*float32(kMn[s])
	})
	if y := dequantize(t, gguf.TypeQ4_K, b, 256); y[0] != 0 || y[32*5+1] != 376 {
		t.Fatalf("Q4_K spot values %g %g", y[0], y[32*5+1])
	}
}

func TestKnownDecodeQ5_K(t *testing.T) {
	kSc, kMn := kScalesMins()
	b := append(le16(0x3c00), le16(0x3800)...) // d = 1, dmin = 0.5
	b = append(b, kScales(kSc, kMn)...)
	for l := range 32 {
		b = append(b, byte(l*37))
	}
	for l := range 128 {
		b = append(b, byte(l*11))
	}
	qh, qs := b[16:48], b[48:]
	// Sub-block s: low 4 bits as in Q4_K, 5th bit is bit s of qh[l].
	checkDecode(t, gguf.TypeQ5_K, b, func(i int) float32 {
		s, l := i/32, i%32
		q := qs[32*(s/2)+l]
		if s%2 == 0 {
			q &= 0xf
		} else {
			q >>= 4
		}
		q |= (qh[l] >> s & 1) << 4
		return float32(kSc[s])*float32(q) - 0.5*float32(kMn[s])
	})
}

func TestKnownDecodeQ6_K(t *testing.T) {
	var b []byte
	for l := range 128 {
		b = append(b, byte(l*13))
	}
	for l := range 64 {
		b = append(b, byte(l*29))
	}
	scales := []int8{-128, -1, 0, 1, 127, 5, -7, 64, 2, 3, -3, 9, -100, 100, 11, -13}
	for _, s := range scales {
		b = append(b, byte(s))
	}
	b = append(b, le16(0x3800)...) // d = 0.5
	ql, qh := b[:128], b[128:192]
	// Value e: half n = e/128; within it r = e%128, quarter k = r/32, l = r%32.
	// Low 4 bits: ql[64n + l + 32*(k%2)], low nibble for k < 2, high otherwise.
	// High 2 bits: bits 2k..2k+1 of qh[32n + l]. Scale: scales[e/16].
	checkDecode(t, gguf.TypeQ6_K, b, func(e int) float32 {
		n, r := e/128, e%128
		k, l := r/32, r%32
		lo := ql[64*n+l+32*(k%2)]
		if k < 2 {
			lo &= 0xf
		} else {
			lo >>= 4
		}
		hi := qh[32*n+l] >> (2 * k) & 3
		q := int(lo|hi<<4) - 32
		return 0.5 * float32(scales[e/16]) * float32(q)
	})
}

func TestKnownDecodeQ8_K(t *testing.T) {
	b := binary.LittleEndian.AppendUint32(nil, math.Float32bits(0.25))
	for j := range 256 {
		b = append(b, byte(int8(j-128)))
	}
	b = append(b, make([]byte, 32)...) // bsums are not used for decoding
	checkDecode(t, gguf.TypeQ8_K, b, func(i int) float32 { return 0.25 * float32(i-128) })
}

func TestKnownDecodeFloats(t *testing.T) {
	f32 := binary.LittleEndian.AppendUint32(nil, math.Float32bits(-1.5))
	checkDecode(t, gguf.TypeF32, f32, func(int) float32 { return -1.5 })
	checkDecode(t, gguf.TypeF16, le16(0xc0a0), func(int) float32 { return -2.3125 })
	checkDecode(t, gguf.TypeBF16, le16(0xc014), func(int) float32 { return -2.3125 })
}

// Quantizer known answers: inputs that sit exactly on the quantization grid,
// with the bytes worked out by hand from the reference algorithms.
func TestKnownQuantize(t *testing.T) {
	seq := func(f func(j int) float32) []float32 {
		x := make([]float32, 32)
		for j := range x {
			x[j] = f(j)
		}
		return x
	}
	nibbles := "00112233445566778899aabbccddeeff" // qs[j] = j | j<<4
	for _, c := range []struct {
		ty   gguf.Type
		x    []float32
		want string
	}{
		// amax 127 gives d = 1 and q = x.
		{gguf.TypeQ8_0, seq(func(j int) float32 {
			if j == 31 {
				return 127
			}
			return float32(j*8 - 127)
		}), "003c" + "81899199a1a9b1b9c1c9d1d9e1e9f1f9" + "0109111921293139414951596169717f"},
		// The value of largest magnitude is -8 (first), so d = 1 and q = x+8.
		{gguf.TypeQ4_0, seq(func(j int) float32 { return float32(j%16 - 8) }), "003c" + nibbles},
		// min 0, max 15: d = 1, m = 0, q = x.
		{gguf.TypeQ4_1, seq(func(j int) float32 { return float32(j % 16) }), "003c0000" + nibbles},
		// Largest magnitude -16: d = 1, q = x+16; values 16..31 set qh bits 16..31.
		{gguf.TypeQ5_0, seq(func(j int) float32 { return float32(j - 16) }), "003c" + "0000ffff" + nibbles},
		// min 0, max 15.5: d = 0.5, q = 2x.
		{gguf.TypeQ5_1, seq(func(j int) float32 { return float32(j) / 2 }), "00380000" + "0000ffff" + nibbles},
	} {
		got := hex.EncodeToString(quantize(t, c.ty, c.x))
		if got != c.want {
			t.Errorf("%v: got  %s\nwant %s", c.ty, got, c.want)
		}
	}

	// Q8_K: values in [-127, 127] with -127 first give d = 1 (f32), q = x and
	// bsums the sums of each 16.
	x := make([]float32, 256)
	for j := range x {
		x[j] = float32((j*7)%255 - 127)
	}
	b := quantize(t, gguf.TypeQ8_K, x)
	if d := math.Float32frombits(binary.LittleEndian.Uint32(b)); d != 1 {
		t.Errorf("Q8_K: d = %g, want 1", d)
	}
	for j := range 256 {
		if q := int8(b[4+j]); float32(q) != x[j] {
			t.Fatalf("Q8_K: q[%d] = %d, want %g", j, q, x[j])
		}
	}
	for g := range 16 {
		var s int
		for j := range 16 {
			s += int(x[16*g+j])
		}
		if got := int16(binary.LittleEndian.Uint16(b[260+2*g:])); int(got) != s {
			t.Errorf("Q8_K: bsums[%d] = %d, want %d", g, got, s)
		}
	}
}
