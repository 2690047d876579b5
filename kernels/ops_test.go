package kernels

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/tandem-llm/tandem/gguf"
)

// Differential tests of the fast ops (ops.go: the exported functions, SIMD
// where useOps) against their references (the *Ref functions). With
// TANDEM_KERNELS=generic both sides are the reference and the tests still
// pass. Tolerances, u = 2⁻²⁴ being float32's unit roundoff:
//
//   - Axpy, Scale, AttnValues: bit for bit (sameFloat: NaN matches any NaN).
//   - DotF32: (n+2)·u·Σ|a_i·b_i| + n·2⁻¹⁴⁹ (any summation order of n
//     fused or rounded products is within n·u·Σ|a_i·b_i| of the exact sum;
//     the reference adds one rounding to float32; underflow adds at most
//     2⁻¹⁴⁹ per step).
//   - AttnScores: the DotF32 bound times |scale|, plus 2u·|ref| + 2⁻¹⁴⁹
//     for the rounded multiplication by scale on both sides.
//   - RMSNorm: 2⁻²¹·|ref| + 2⁻¹⁴⁸·(1+|w|): the float64 sums of squares
//     differ only in order, so the float32 mean and scale differ by at most
//     a rounding, which moves each output by at most a few ulp.
//   - SiLUMul: 2⁻²⁰·|ref| + 2⁻¹²⁰·(1+|up|): exp within 2 ulp, then three
//     rounded operations on each side (16u in all); the absolute term covers
//     subnormal results and exp(-g) overflowing on one side only, where
//     g/(1+exp(-g)) is at most 2⁻¹²¹ in magnitude.
//   - Softmax: (16 + n/8)·u·|ref| + 2⁻¹²⁶: exp within 2 ulp, the float32
//     sum over 8 lanes (chains of n/8 adds), 1/sum and the scale rounded.
//
// Non-finite results must agree in kind: where the reference gives NaN the
// fast op does, and infinities match exactly.

const opsU = 0x1p-24

func dotTolF32(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += math.Abs(float64(a[i]) * float64(b[i]))
	}
	return float64(len(a)+2)*opsU*s + float64(len(a))*0x1p-149
}

func softmaxTol(n int, ref float32) float64 {
	return (16+float64(n)/8)*opsU*math.Abs(float64(ref)) + 0x1p-126
}

func siluTol(ref, up float32) float64 {
	return 0x1p-20*math.Abs(float64(ref)) + 0x1p-120*(1+math.Abs(float64(up)))
}

func rmsTol(ref, w float32) float64 {
	return 0x1p-21*math.Abs(float64(ref)) + 0x1p-148*(1+math.Abs(float64(w)))
}

// within reports whether got is within tol of want, or both are the same
// non-finite value (NaN: any NaN).
func within(got, want float32, tol float64) bool {
	if want != want || got != got || math.IsInf(float64(want), 0) || math.IsInf(float64(got), 0) {
		return sameFloat(got, want)
	}
	return math.Abs(float64(got)-float64(want)) <= tol
}

// opsData returns n values in one of several regimes, starting off at an
// unaligned offset inside a larger buffer (so the SIMD loads are unaligned
// and values past the slice are poison the fast ops must not touch).
func opsData(rng *rand.Rand, n, mode int) []float32 {
	off := rng.IntN(8)
	buf := make([]float32, off+n+8)
	for i := range buf {
		buf[i] = float32(math.NaN())
	}
	x := buf[off : off+n : off+n]
	for i := range x {
		g := float32(rng.NormFloat64())
		switch mode % 6 {
		case 0: // activations
			x[i] = g
		case 1: // wide magnitudes
			x[i] = g * float32(math.Ldexp(1, rng.IntN(60)-30))
		case 2: // attention scores, softmax inputs
			x[i] = g * 8
		case 3: // large negative and positive gates
			x[i] = g * 40
		case 4: // zeros and small integers
			x[i] = float32(rng.IntN(5) - 2)
		case 5: // very large and tiny
			x[i] = g * float32(math.Ldexp(1, rng.IntN(250)-125))
		}
	}
	return x
}

func TestOpsMatchReference(t *testing.T) {
	t.Logf("SIMD ops: %v", useOps)
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n <= 300; n++ {
		for mode := range 6 {
			a, b, w := opsData(rng, n, mode), opsData(rng, n, mode), opsData(rng, n, 0)
			where := fmt.Sprintf("n=%d mode=%d", n, mode)

			if got, want := DotF32(a, b), DotF32Ref(a, b); finiteDot(a, b) && !within(got, want, dotTolF32(a, b)) {
				t.Fatalf("%s: DotF32 %g, reference %g (tolerance %g)", where, got, want, dotTolF32(a, b))
			}

			s := float32(rng.NormFloat64())
			d1, d2 := append([]float32(nil), w...), append([]float32(nil), w...)
			Axpy(d1, s, a)
			AxpyRef(d2, s, a)
			checkSame(t, where+": Axpy", d1, d2)
			copy(d1, a)
			copy(d2, a)
			Scale(d1, s)
			ScaleRef(d2, s)
			checkSame(t, where+": Scale", d1, d2)

			eps := float32(1e-6)
			RMSNorm(d1, a, w, eps)
			RMSNormRef(d2, a, w, eps)
			for i := range d1 {
				if !within(d1[i], d2[i], rmsTol(d2[i], w[i])) {
					t.Fatalf("%s: RMSNorm[%d] = %g, reference %g", where, i, d1[i], d2[i])
				}
			}
			copy(d1, a) // in place
			RMSNorm(d1, d1, w, eps)
			for i := range d1 {
				if !within(d1[i], d2[i], rmsTol(d2[i], w[i])) {
					t.Fatalf("%s: RMSNorm in place [%d] = %g, reference %g", where, i, d1[i], d2[i])
				}
			}

			copy(d1, a)
			copy(d2, a)
			Softmax(d1)
			SoftmaxRef(d2)
			for i := range d1 {
				if !within(d1[i], d2[i], softmaxTol(n, d2[i])) {
					t.Fatalf("%s: Softmax[%d] = %g, reference %g", where, i, d1[i], d2[i])
				}
			}

			SiLUMul(d1, a, b)
			SiLUMulRef(d2, a, b)
			for i := range d1 {
				if !within(d1[i], d2[i], siluTol(d2[i], b[i])) {
					t.Fatalf("%s: SiLUMul(%g, %g) = %g, reference %g", where, a[i], b[i], d1[i], d2[i])
				}
			}
			copy(d1, a) // dst aliasing gate
			SiLUMul(d1, d1, b)
			for i := range d1 {
				if !within(d1[i], d2[i], siluTol(d2[i], b[i])) {
					t.Fatalf("%s: SiLUMul in place (%g, %g) = %g, reference %g", where, a[i], b[i], d1[i], d2[i])
				}
			}
		}
	}
}

func checkSame(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if !sameFloat(got[i], want[i]) {
			t.Fatalf("%s [%d] = %g, reference %g", what, i, got[i], want[i])
		}
	}
}

// checkAttention runs AttnScores and AttnValues on n rows of width hd,
// stride apart, against their references.
func checkAttention(t *testing.T, where string, q, keys, values, w []float32, stride int, scale float32) {
	t.Helper()
	n, hd := len(w), len(q)
	got, want := make([]float32, n), make([]float32, n)
	AttnScores(got, q, keys, stride, scale)
	AttnScoresRef(want, q, keys, stride, scale)
	for i := range n {
		k := keys[i*stride : i*stride+hd]
		tol := dotTolF32(q, k)*math.Abs(float64(scale)) + 2*opsU*math.Abs(float64(want[i])) + 0x1p-149
		if finiteDot(q, k) && !within(got[i], want[i], tol) {
			t.Fatalf("%s: AttnScores[%d] = %g, reference %g (tolerance %g)", where, i, got[i], want[i], tol)
		}
	}
	o1, o2 := make([]float32, hd), make([]float32, hd)
	for i := range o1 {
		o1[i], o2[i] = float32(math.NaN()), 7 // AttnValues overwrites
	}
	AttnValues(o1, w, values, stride)
	AttnValuesRef(o2, w, values, stride)
	checkSame(t, where+": AttnValues", o1, o2)
}

func TestAttentionMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, hd := range []int{0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 56, 63, 64, 65, 72, 80, 96, 100, 127, 128, 129, 136, 200, 256} {
		for _, n := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 31, 64, 129} {
			for _, extra := range []int{0, 1, 5, 64} {
				stride := hd + extra
				mode := rng.IntN(6)
				keys := opsData(rng, max(0, (n-1)*stride+hd), mode)
				values := opsData(rng, len(keys), mode)
				q := opsData(rng, hd, mode)
				w := opsData(rng, n, 4)
				Softmax(w)
				where := fmt.Sprintf("hd=%d n=%d stride=%d mode=%d", hd, n, stride, mode)
				checkAttention(t, where, q, keys, values, w, stride, float32(1/math.Sqrt(float64(max(hd, 1)))))
			}
		}
	}
	// The realistic shape: the keys and values of 2 KV heads interleaved.
	keys, values := opsData(rng, 128*128, 0), opsData(rng, 128*128, 0)
	w := opsData(rng, 128, 2)
	Softmax(w)
	checkAttention(t, "hd=64 n=128 head 1 of 2", opsData(rng, 64, 0), keys[64:], values[64:], w, 128, 0.125)
}

// TestOpsSpecialValues: NaN, ±Inf, ±0, subnormals and the exp range limits.
func TestOpsSpecialValues(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, nan, inf, -inf, 1e-45, -1e-45, 1e-40, 3e38, -3e38,
		88.7, 88.72, 88.73, 89, 90, -87.3, -88.7, -89, -103, -103.9, -104, -105, -150, 1e30, -1e30, 0.5, -0.5, 20, -20}
	for _, v := range special {
		for _, n := range []int{1, 7, 8, 9, 17} {
			for pos := range n {
				gate := make([]float32, n)
				up := make([]float32, n)
				for i := range gate {
					gate[i], up[i] = float32(i)-3, 1.5
				}
				gate[pos] = v
				d1, d2 := make([]float32, n), make([]float32, n)
				SiLUMul(d1, gate, up)
				SiLUMulRef(d2, gate, up)
				for i := range d1 {
					if !within(d1[i], d2[i], siluTol(d2[i], up[i])) {
						t.Fatalf("SiLUMul(%g) = %g, reference %g", gate[i], d1[i], d2[i])
					}
				}
				copy(d1, gate)
				copy(d2, gate)
				Softmax(d1)
				SoftmaxRef(d2)
				for i := range d1 {
					if !within(d1[i], d2[i], softmaxTol(n, d2[i])) {
						t.Fatalf("Softmax with %g at %d of %d: [%d] = %g, reference %g", v, pos, n, i, d1[i], d2[i])
					}
				}
				a := make([]float32, n)
				for i := range a {
					a[i] = 0.25
				}
				if got, want := DotF32(gate, a), DotF32Ref(gate, a); !within(got, want, dotTolF32(gate, a)) {
					t.Fatalf("DotF32 with %g: %g, reference %g", v, got, want)
				}
				w := make([]float32, n)
				for i := range w {
					w[i] = 2
				}
				RMSNorm(d1, gate, w, 1e-5)
				RMSNormRef(d2, gate, w, 1e-5)
				for i := range d1 {
					if !within(d1[i], d2[i], rmsTol(d2[i], w[i])) {
						t.Fatalf("RMSNorm with %g: [%d] = %g, reference %g", v, i, d1[i], d2[i])
					}
				}
			}
		}
	}
	all := []float32{float32(math.Inf(-1)), float32(math.Inf(-1))}
	Softmax(all)
	if all[0] == all[0] {
		t.Errorf("Softmax of all -Inf = %v, want NaNs", all)
	}
}

// TestExpAccuracy measures the SIMD exp (through Softmax's exp(x - 0),
// reading the values it stores) against the correctly rounded float32 exp:
// within 2 ulp where the result is normal, within 2⁻¹⁴⁹ where it is
// subnormal, and 0 and +Inf beyond the float32 range.
func TestExpAccuracy(t *testing.T) {
	if !useOps {
		t.Skip("no SIMD ops")
	}
	var xs []float32
	for x := float32(-110); x < 92; x += 0.00137 {
		xs = append(xs, x)
	}
	for i := range 1 << 16 { // every float32 exponent, both signs
		xs = append(xs, math.Float32frombits(uint32(i)<<16|0x5a5a))
	}
	got := append([]float32(nil), xs...)
	opExpSub(got, 0)
	maxUlp := 0.0
	for i, x := range xs {
		want := float32(math.Exp(float64(x)))
		g := got[i]
		switch {
		case x != x:
			if g == g {
				t.Fatalf("exp(NaN) = %g", g)
			}
		case want == 0 || math.IsInf(float64(want), 0) || want < 0x1p-126:
			if math.Abs(float64(g)-float64(want)) > 0x1p-149 && !(math.IsInf(float64(want), 1) && math.IsInf(float64(g), 1)) {
				// At the very top of the range the approximation may round to
				// the largest float instead of overflowing, or the reverse.
				if !(x > 88.72 && x < 88.723) {
					t.Fatalf("exp(%g) = %g, want %g", x, g, want)
				}
			}
		default:
			ulp := math.Abs(float64(g)-float64(want)) / (float64(math.Nextafter32(want, float32(math.Inf(1)))) - float64(want))
			maxUlp = max(maxUlp, ulp)
			if ulp > 2 {
				t.Fatalf("exp(%g) = %g, want %g (%.2f ulp)", x, g, want, ulp)
			}
		}
	}
	t.Logf("exp: max error %.2f ulp over %d inputs", maxUlp, len(xs))
}

// refQuantize encodes x as vt (Q8_0, Q8_1 or Q8_K) with the reference block
// encoders.
func refQuantize(vt gguf.Type, x []float32) []byte {
	bs, bb := vt.BlockSize(), vt.BlockBytes()
	b := make([]byte, vt.RowBytes(len(x)))
	for i := 0; i < len(x)/bs; i++ {
		xb, d := x[i*bs:(i+1)*bs], b[i*bb:(i+1)*bb]
		switch vt {
		case gguf.TypeQ8_0:
			encodeQ8_0(xb, d)
		case gguf.TypeQ8_1:
			encodeQ8_1(xb, d)
		default:
			encodeQ8_K(xb, d)
		}
	}
	return b
}

// actTypes are weight types whose activation types are Q8_0, Q8_1, Q8_K.
var actTypes = []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_1, gguf.TypeQ6_K}

// checkQuantize compares QuantizeActivations with the reference encoders
// byte for byte, for each Q8 activation type, on x at an unaligned offset.
func checkQuantize(t testing.TB, what string, x []float32) {
	t.Helper()
	for _, ty := range actTypes {
		vt := VecDotType(ty)
		n := len(x) / vt.BlockSize() * vt.BlockSize()
		xs := append(make([]float32, 3), x[:n]...)[3:]
		got := make([]byte, vt.RowBytes(n)+5)
		for i := range got {
			got[i] = 0xa5
		}
		QuantizeActivations(ty, xs, got[1:])
		want := refQuantize(vt, x[:n])
		if got[0] != 0xa5 || !bytes.Equal(got[len(got)-4:], []byte{0xa5, 0xa5, 0xa5, 0xa5}) {
			t.Fatalf("%s %v: QuantizeActivations wrote outside its row", what, vt)
		}
		if g := got[1 : 1+len(want)]; !bytes.Equal(g, want) {
			bb := vt.BlockBytes()
			for i := 0; i < len(want); i += bb {
				if !bytes.Equal(g[i:i+bb], want[i:i+bb]) {
					bs := vt.BlockSize()
					t.Fatalf("%s %v: block %d differs\n x: %v\n got:  %v\n want: %v", what, vt, i/bb,
						x[i/bb*bs:(i/bb+1)*bs], g[i:i+bb], want[i:i+bb])
				}
			}
		}
	}
}

// TestQuantizeActivationsFast: the SIMD encoders write the reference bytes,
// on random data of every scale, on blocks full of rounding ties (x*id
// exactly k+0.5, and the floats either side of it) and on the blocks they
// decline (NaN, Inf, zero, tiny, subnormal, both signs at the maximum).
func TestQuantizeActivationsFast(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	if useOps { // the SIMD encoders take ordinary blocks (and the test is not vacuous)
		x := opsData(rng, 1024, 0)
		for _, ty := range actTypes {
			vt := VecDotType(ty)
			nb := len(x) / vt.BlockSize()
			if got := opQuantize(vt, x, make([]byte, vt.RowBytes(len(x))), nb); got != nb {
				t.Errorf("%v: the SIMD encoder took %d of %d blocks", vt, got, nb)
			}
		}
	}
	for i := range 400 {
		checkQuantize(t, fmt.Sprintf("random %d", i), opsData(rng, 1024, i))
		checkQuantize(t, fmt.Sprintf("edge %d", i), edgeData(rng, 1024, 32))
		checkQuantize(t, fmt.Sprintf("edge256 %d", i), edgeData(rng, 1024, 256))
	}
	// Scales over the whole exponent range, F16 overflow and subnormal d
	// included: one block per power of two, with a random mantissa.
	x := make([]float32, 256*256)
	for e := range 256 {
		m := float32(1 + rng.Float64())
		for j := range 256 {
			x[256*e+j] = float32(rng.NormFloat64()) * m * float32(math.Ldexp(1, e-128))
		}
	}
	checkQuantize(t, "exponents", x)
	// Rounding ties: with amax = 127·2^e, d = 2^e and id = 2^-e exactly, so
	// x = (k + 0.5)·2^e gives x*id = k + 0.5.
	for e := -90; e <= 100; e += 7 {
		sc := float32(math.Ldexp(1, e))
		x := make([]float32, 0, 2048)
		for k := -127; k < 127; k++ {
			v := (float32(k) + 0.5) * sc
			x = append(x, 127*sc, v, math.Nextafter32(v, 0), math.Nextafter32(v, 1e30), math.Nextafter32(v, -1e30),
				float32(k)*sc, math.Nextafter32(math.Nextafter32(v, 0), 0), -v)
		}
		for len(x)%256 != 0 {
			x = append(x, 0.5*sc)
		}
		checkQuantize(t, fmt.Sprintf("ties 2^%d", e), x)
	}
	// Blocks whose largest value quantizes to just above 127 (amax*id >
	// 127 after the roundings of d and id): roundf still gives 127.
	var over []float32
	for len(over) < 32*512 {
		amax := float32(math.Ldexp(1+rng.Float64(), rng.IntN(40)-20))
		d := amax / 127
		if id := 1 / d; float32(amax*id) > 127 {
			blk := opsData(rng, 32, 0)
			for i := range blk {
				blk[i] = max(-amax, min(amax, blk[i]*amax/4))
			}
			blk[rng.IntN(32)] = amax
			blk[rng.IntN(32)] = -amax
			over = append(over, blk...)
		}
	}
	checkQuantize(t, "just over 127", over)
	// Declined blocks between accepted ones.
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, v := range []float32{nan, inf, -inf, 0, 1e-45, 1e-40, 0x1p-100, 0x1p-101, math.Nextafter32(0x1p-100, 0), 3e38, -3e38} {
		x := opsData(rng, 1024, 0)
		x[40] = v
		x[300] = v
		for i := 512; i < 768; i++ {
			x[i] = v * float32(i%3)
		}
		checkQuantize(t, fmt.Sprintf("with %g", v), x)
	}
	// Q8_K: the largest magnitude with both signs, either first.
	for _, first := range []float32{5, -5} {
		x := opsData(rng, 512, 0)
		x[10], x[200] = first, -first
		x[256+3], x[256+100] = -first, first
		checkQuantize(t, fmt.Sprintf("both signs %g", first), x)
	}
}

// TestQ8RoundingExhaustive checks the Q8_0/Q8_1 encoders' roundf on every
// float32 in [-127, 127]: blocks of 31 consecutive floats and 127 (so d = 1
// and x*id = x). Set TANDEM_EXHAUSTIVE=1 to run all of them (half a minute
// on amd64); otherwise every 251st block runs.
func TestQ8RoundingExhaustive(t *testing.T) {
	step := uint32(251)
	if os.Getenv("TANDEM_EXHAUSTIVE") != "" {
		step = 1
	}
	const per = 31
	x := make([]float32, 32*1024)
	got, want := make([]byte, 36*1024), make([]byte, 36*1024)
	limit := math.Float32bits(127)
	for _, sign := range []uint32{0, 1 << 31} {
		bits, nb := uint32(0), 0
		flush := func() {
			QuantizeActivations(gguf.TypeQ8_0, x[:32*nb], got)
			for i := range nb {
				encodeQ8_0(x[32*i:32*i+32], want[34*i:])
			}
			if !bytes.Equal(got[:34*nb], want[:34*nb]) {
				t.Fatalf("Q8_0 rounding differs near %g", math.Float32frombits(bits|sign))
			}
			QuantizeActivations(gguf.TypeQ4_1, x[:32*nb], got)
			for i := range nb {
				encodeQ8_1(x[32*i:32*i+32], want[36*i:])
			}
			if !bytes.Equal(got[:36*nb], want[:36*nb]) {
				t.Fatalf("Q8_1 rounding differs near %g", math.Float32frombits(bits|sign))
			}
			nb = 0
		}
		for bits < limit {
			blk := x[32*nb : 32*nb+32]
			blk[0] = 127
			for j := 1; j < 32; j++ {
				blk[j] = math.Float32frombits(min(bits+uint32(j-1), limit) | sign)
			}
			bits += per * step
			if nb++; nb == 1024 {
				flush()
			}
		}
		flush()
	}
}

// finiteDot reports whether a·b is free of Inf and NaN, inputs and
// partial sums alike (beyond that, which non-finite value comes out depends
// on the summation order).
func finiteDot(a, b []float32) bool {
	var s float64
	for i := range a {
		s += math.Abs(float64(a[i]) * float64(b[i]))
	}
	return s < math.MaxFloat32/2
}

// FuzzOps: the fast ops against the references on fuzzer data. op picks the
// op (low 7 bits) and whether the values are raw float32 bits, NaN, Inf and
// subnormals included (top bit), or scaled 16-bit integers; n sets the
// length; data holds the values.
func FuzzOps(f *testing.F) {
	f.Add(uint8(0), uint16(67), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add(uint8(0x85), uint16(300), []byte{0, 0, 0x80, 0x7f, 0, 0, 0xc0, 0xff, 1, 0, 0, 0})
	f.Add(uint8(8), uint16(96), []byte{0x40, 0x49, 0x0f, 0xdb, 0, 0, 0x80, 0x3f})
	f.Fuzz(func(t *testing.T, op uint8, n16 uint16, data []byte) {
		raw := op&0x80 != 0
		n := int(n16) % 520
		vals := func(k, salt int) []float32 {
			x := make([]float32, k)
			if len(data) < 4 {
				return x
			}
			for i := range x {
				j := (4*i + salt) % (len(data) - 3)
				if raw {
					x[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[j:]) + uint32(i/(len(data)-3)))
				} else {
					v := int16(binary.LittleEndian.Uint16(data[j:])) + int16(i/(len(data)-3))
					x[i] = float32(v) * float32(math.Ldexp(1, int(data[(j+2)%len(data)]%48)-30))
				}
			}
			return x
		}
		a, b := vals(n, 0), vals(n, 1)
		s := float32(1.5)
		if n > 0 {
			s = a[n/2]
		}
		d1, d2 := vals(n, 2), vals(n, 2)
		switch op & 0x7f % 10 {
		case 0:
			if got, want := DotF32(a, b), DotF32Ref(a, b); finiteDot(a, b) && !within(got, want, dotTolF32(a, b)) {
				t.Fatalf("DotF32 %g, reference %g", got, want)
			}
		case 1:
			Axpy(d1, s, a)
			AxpyRef(d2, s, a)
			checkSame(t, "Axpy", d1, d2)
		case 2:
			copy(d1, a)
			copy(d2, a)
			Scale(d1, s)
			ScaleRef(d2, s)
			checkSame(t, "Scale", d1, d2)
		case 3:
			RMSNorm(d1, a, b, 1e-6)
			RMSNormRef(d2, a, b, 1e-6)
			for i := range d1 {
				if !within(d1[i], d2[i], rmsTol(d2[i], b[i])) {
					t.Fatalf("RMSNorm[%d] = %g, reference %g", i, d1[i], d2[i])
				}
			}
		case 4:
			copy(d1, a)
			copy(d2, a)
			Softmax(d1)
			SoftmaxRef(d2)
			for i := range d1 {
				if !within(d1[i], d2[i], softmaxTol(n, d2[i])) {
					t.Fatalf("Softmax[%d] = %g, reference %g", i, d1[i], d2[i])
				}
			}
		case 5:
			SiLUMul(d1, a, b)
			SiLUMulRef(d2, a, b)
			for i := range d1 {
				// exp(-g) may overflow on one side only near g = -88.72,
				// giving ±0 on one side and a tiny value on the other,
				// which an infinite up turns into NaN and ±Inf.
				if math.IsInf(float64(b[i]), 0) && a[i] < -80 && a[i] > -90 {
					continue
				}
				if !within(d1[i], d2[i], siluTol(d2[i], b[i])) {
					t.Fatalf("SiLUMul(%g, %g) = %g, reference %g", a[i], b[i], d1[i], d2[i])
				}
			}
		case 6, 7:
			hd := 1 + n%70
			rows := n / 70
			stride := hd
			if len(data) > 0 {
				stride += int(data[0] % 9)
			}
			keys := vals(max(0, (rows-1)*stride+hd), 3)
			q := vals(hd, 4)
			w := vals(rows, 5)
			got, want := make([]float32, rows), make([]float32, rows)
			if op&0x7f%10 == 6 {
				AttnScores(got, q, keys, stride, 0.125)
				AttnScoresRef(want, q, keys, stride, 0.125)
				for i := range rows {
					k := keys[i*stride : i*stride+hd]
					tol := dotTolF32(q, k)*0.125 + 2*opsU*math.Abs(float64(want[i])) + 0x1p-149
					if finiteDot(q, k) && !within(got[i], want[i], tol) {
						t.Fatalf("AttnScores[%d] = %g, reference %g", i, got[i], want[i])
					}
				}
			} else {
				o1, o2 := make([]float32, hd), make([]float32, hd)
				AttnValues(o1, w, keys, stride)
				AttnValuesRef(o2, w, keys, stride)
				checkSame(t, "AttnValues", o1, o2)
			}
		case 8, 9:
			checkQuantize(t, "fuzz", vals(n/32*32, 6))
		}
	})
}

// TestOpsNoAlloc: the ops (tails included) do not allocate.
func TestOpsNoAlloc(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const n = 67
	a, b, d := opsData(rng, n, 0), opsData(rng, n, 0), make([]float32, n)
	keys := opsData(rng, 13*n, 0)
	xq := make([]byte, gguf.TypeQ8_K.RowBytes(512))
	x := opsData(rng, 512, 0)
	allocs := testing.AllocsPerRun(20, func() {
		DotF32(a, b)
		Axpy(d, 0.5, a)
		Scale(d, 0.5)
		RMSNorm(d, a, b, 1e-5)
		copy(d, a)
		Softmax(d)
		SiLUMul(d, a, b)
		AttnScores(d[:13], a[:n-2], keys, n, 0.125)
		AttnValues(d[:n-3], b[:13], keys, n)
		QuantizeActivations(gguf.TypeQ8_0, x, xq)
		QuantizeActivations(gguf.TypeQ4_1, x, xq)
		QuantizeActivations(gguf.TypeQ6_K, x, xq)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per run of the ops", allocs)
	}
}
