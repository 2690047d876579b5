package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func isNaN32(f float32) bool { return f != f }

func TestF16RoundTripExhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		f := F16ToF32(h)
		back := F32ToF16(f)
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			if !isNaN32(f) || back&0x7fff != 0x7e00 || back&0x8000 != h&0x8000 {
				t.Fatalf("NaN %#04x -> %g -> %#04x", h, f, back)
			}
			continue
		}
		if back != h {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, back)
		}
	}
}

func TestBF16RoundTripExhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		f := BF16ToF32(h)
		back := F32ToBF16(f)
		if h&0x7f80 == 0x7f80 && h&0x7f != 0 {
			if !isNaN32(f) || !isNaN32(BF16ToF32(back)) || back != h|0x40 {
				t.Fatalf("NaN %#04x -> %g -> %#04x", h, f, back)
			}
			continue
		}
		if back != h {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, back)
		}
	}
}

func TestF16KnownValues(t *testing.T) {
	for _, c := range []struct {
		f float32
		h uint16
	}{
		{0, 0}, {float32(math.Copysign(0, -1)), 0x8000}, {1, 0x3c00}, {-2, 0xc000}, {0.5, 0x3800},
		{65504, 0x7bff}, {65519.996, 0x7bff}, {65520, 0x7c00}, {1e10, 0x7c00},
		{float32(math.Inf(1)), 0x7c00}, {float32(math.Inf(-1)), 0xfc00},
		{0x1p-14, 0x0400}, {0x1p-24, 0x0001}, {0x1p-25, 0}, {0x1.000002p-25, 1}, {0x1.8p-24, 2},
		{0x1p-26, 0}, {-0x1p-24, 0x8001},
		// Ties to even: 1 + 2^-11 is halfway between 1 and 1+2^-10.
		{1 + 0x1p-11, 0x3c00}, {1 + 3*0x1p-11, 0x3c02}, {1 + 0x1p-11 + 0x1p-20, 0x3c01},
		// Subnormal ties: 1.5 and 2.5 units of 2^-24.
		{0x3p-25, 0x0002}, {0x5p-25, 0x0002},
		// Rounding up out of the subnormal range into the smallest normal.
		{0x1.ff8p-15, 0x03ff}, {0x1.ffap-15, 0x03ff}, {0x1.ffcp-15, 0x0400}, {0x1.ffep-15, 0x0400},
		{float32(math.NaN()), 0x7e00},
	} {
		if got := F32ToF16(c.f); got != c.h {
			t.Errorf("F32ToF16(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
	if f := F16ToF32(0x7bff); f != 65504 {
		t.Errorf("F16ToF32(0x7bff) = %g", f)
	}
	if f := F16ToF32(0x0001); f != 0x1p-24 {
		t.Errorf("F16ToF32(0x0001) = %g", f)
	}
	if f := F16ToF32(0xfc00); !math.IsInf(float64(f), -1) {
		t.Errorf("F16ToF32(0xfc00) = %g", f)
	}
}

// TestF32ToF16Rounding checks, over every half-way point between adjacent
// halves, its float32 neighbours, and a million random floats, that
// F32ToF16 picks the nearest half, ties to the even one.
func TestF32ToF16Rounding(t *testing.T) {
	check := func(f float32) {
		h := F32ToF16(f)
		got := float64(F16ToF32(h))
		af := math.Abs(float64(f))
		if af >= 65520 {
			if !math.IsInf(got, 0) {
				t.Fatalf("F32ToF16(%g) = %#04x, want Inf", f, h)
			}
			return
		}
		// Compare with the two halves around |f|.
		for _, nb := range []uint16{h&0x7fff - 1, h&0x7fff + 1} {
			if nb > 0x7bff {
				continue
			}
			alt := float64(F16ToF32(nb))
			dg, da := math.Abs(math.Abs(got)-af), math.Abs(alt-af)
			if da < dg || (da == dg && h&1 != 0) {
				t.Fatalf("F32ToF16(%g) = %#04x (%g); %#04x (%g) is nearer or even", f, h, got, nb, alt)
			}
		}
		if math.Signbit(got) != math.Signbit(float64(f)) {
			t.Fatalf("F32ToF16(%g) lost the sign", f)
		}
	}
	for h := uint16(0); h < 0x7bff; h++ {
		mid := (float64(F16ToF32(h)) + float64(F16ToF32(h+1))) / 2
		m := float32(mid) // exact: halves have 11 significant bits
		for _, f := range []float32{m, math.Nextafter32(m, 0), math.Nextafter32(m, 1e9)} {
			check(f)
			check(-f)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1_000_000 {
		f := math.Float32frombits(rng.Uint32())
		if !isNaN32(f) {
			check(f)
		}
	}
}

func TestBF16Rounding(t *testing.T) {
	for _, c := range []struct {
		bits uint32
		h    uint16
	}{
		{0x3f800000, 0x3f80},             // 1
		{0x3f808000, 0x3f80},             // tie, even stays
		{0x3f818000, 0x3f82},             // tie, odd rounds up
		{0x3f808001, 0x3f81},             // above the tie
		{0x7f7fffff, 0x7f80},             // max float rounds to Inf
		{0x7f800000, 0x7f80},             // Inf
		{0xff800000, 0xff80},             // -Inf
		{0x7f800001, 0x7fc0},             // signalling NaN is quietened
		{0xffc12345, 0xffc1},             // NaN keeps its top bits
		{0x00000001, 0x0000},             // subnormal rounds to zero
		{0x00008000, 0x0000},             // tie to even zero
		{0x00018000, 0x0002},             // tie to even
		{math.Float32bits(-1.5), 0xbfc0}, // exact
	} {
		if got := F32ToBF16(math.Float32frombits(c.bits)); got != c.h {
			t.Errorf("F32ToBF16(%#08x) = %#04x, want %#04x", c.bits, got, c.h)
		}
	}
}
