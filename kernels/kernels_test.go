package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tandem-llm/tandem/gguf"
)

func quantize(t testing.TB, ty gguf.Type, x []float32) []byte {
	t.Helper()
	b := make([]byte, ty.RowBytes(len(x)))
	if err := Quantize(ty, x, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func dequantize(t testing.TB, ty gguf.Type, b []byte, n int) []float32 {
	t.Helper()
	y := make([]float32, n)
	if err := Dequantize(ty, b, y); err != nil {
		t.Fatal(err)
	}
	return y
}

// ggmlData is test-quantize-fns.cpp's generate_data: 0.1 + 2*cos(i + offset)
// (the cosine in float, the sum in double, stored as float).
func ggmlData(offset float32, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(0.1 + 2*float64(float32(math.Cos(float64(float32(i)+offset)))))
	}
	return x
}

// TestQuantizeFns mirrors ggml's tests/test-quantize-fns.cpp: on 4096 values
// of synthetic data, the "total quantization error" sqrt(Σ diff²)/n must stay
// below MAX_QUANTIZATION_TOTAL_ERROR (0.002; ggml relaxes it only for Q2_K,
// Q3_K and i-quants, none of which are here), and the dot-product error
// |dot - dot_ref|/n below MAX_DOT_PRODUCT_ERROR (0.02).
//
// ggml's vec_dot quantizes the second vector to the type's vec_dot_type
// first; "dot" reproduces that (Q8_0 for the 32-blocks — Q8_1, used by
// Q4_1/Q5_1, has the same quants and scale —, Q8_K for the k-quants), while
// "dot(f32)" is our Dot against the unquantized vector.
func TestQuantizeFns(t *testing.T) {
	const n = 32 * 128
	const maxTotalErr, maxDotErr = 0.002, 0.02
	x1, x2 := ggmlData(0, n), ggmlData(1, n)
	var ref float64
	for i := range x1 {
		ref += float64(x1[i] * x2[i]) // as ggml's dot_product: float product, double sum
	}
	for _, ty := range gguf.SupportedTypes() {
		y := dequantize(t, ty, quantize(t, ty, x1), n)
		var sum float64
		for i := range x1 {
			d := float64(x1[i]) - float64(y[i])
			sum += d * d
		}
		totalErr := float32(math.Sqrt(sum)) / n

		vdt := ty
		switch ty {
		case gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1:
			vdt = gguf.TypeQ8_0
		case gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeQ8_K:
			vdt = gguf.TypeQ8_K
		}
		q1 := quantize(t, ty, x1)
		x2q := dequantize(t, vdt, quantize(t, vdt, x2), n)
		dotErr := float32(math.Abs(float64(Dot(ty, q1, x2q))-ref)) / n
		dotF32Err := float32(math.Abs(float64(Dot(ty, q1, x2))-ref)) / n

		t.Logf("%-5v total error %.6f  dot error %.6f (vec_dot_type %v)  dot(f32) error %.6f",
			ty, totalErr, dotErr, vdt, dotF32Err)
		if !(totalErr < maxTotalErr) {
			t.Errorf("%v: total quantization error %g >= %g", ty, totalErr, maxTotalErr)
		}
		if !(dotErr < maxDotErr) || !(dotF32Err < maxDotErr) {
			t.Errorf("%v: dot product error %g / %g >= %g", ty, dotErr, dotF32Err, maxDotErr)
		}
	}
}

// sameFloat reports whether a and b are equal or both NaN.
func sameFloat(a, b float32) bool { return a == b || (a != a && b != b) }

// edgeBlocks returns n values made of blocks of size bs, each block drawn
// from one of several regimes: random, all zero, tiny, huge, a single
// dominant value (the max quant), constant, mixed signs at the extremes.
func edgeData(rng *rand.Rand, n, bs int) []float32 {
	x := make([]float32, n)
	for b := 0; b < n; b += bs {
		blk := x[b : b+bs]
		mode := rng.IntN(9)
		for i := range blk {
			g := float32(rng.NormFloat64())
			switch mode {
			case 0, 1: // plain gaussian
				blk[i] = g
			case 2: // all zero
				blk[i] = 0
			case 3:
				blk[i] = g * 1e-30
			case 4:
				blk[i] = g * 1e30
			case 5: // constant
				blk[i] = 3.25
			case 6: // small values around one outlier
				blk[i] = g * 1e-3
			case 7: // only the two extremes
				blk[i] = float32(2*rng.IntN(2)-1) * 7
			case 8: // all positive
				blk[i] = abs32(g) + 1
			}
		}
		if mode == 6 {
			blk[rng.IntN(bs)] = -50
		}
	}
	return x
}

// TestDotMatchesDequantize checks Dot and MatVec against Dequantize followed
// by DotF32Ref, which they are defined to equal bit for bit.
func TestDotMatchesDequantize(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, ty := range gguf.SupportedTypes() {
		bs := max(ty.BlockSize(), 32)
		for _, nblocks := range []int{1, 2, 3, 8} {
			cols := bs * nblocks
			for _, rows := range []int{1, 3, 7} {
				w := edgeData(rng, rows*cols, bs)
				x := edgeData(rng, cols, bs)
				for i := range x { // keep x finite so only w's regimes matter
					if abs32(x[i]) > 1e3 {
						x[i] = 1
					}
				}
				wq := quantize(t, ty, w)
				wd := dequantize(t, ty, wq, rows*cols)
				got := make([]float32, rows)
				MatVec(got, ty, wq, x)
				stride := ty.RowBytes(cols)
				for r := range rows {
					want := DotF32Ref(wd[r*cols:(r+1)*cols], x)
					d := Dot(ty, wq[r*stride:(r+1)*stride], x)
					if !sameFloat(d, want) || !sameFloat(got[r], want) {
						t.Fatalf("%v cols=%d rows=%d row %d: Dot %g, MatVec %g, DotF32Ref(Dequantize) %g",
							ty, cols, rows, r, d, got[r], want)
					}
				}
			}
		}
	}
}

func TestDotDoesNotAllocate(t *testing.T) {
	x := ggmlData(0, 512)
	for _, ty := range gguf.SupportedTypes() {
		row := quantize(t, ty, x)
		if a := testing.AllocsPerRun(10, func() { Dot(ty, row, x) }); a != 0 {
			t.Errorf("%v: Dot allocates %v times", ty, a)
		}
	}
}

// TestQuantizeEdgeCases checks behaviour on special blocks: zeros stay
// zeros, values that fit exactly come back exactly, and tiny inputs do not
// produce NaN.
func TestQuantizeEdgeCases(t *testing.T) {
	for _, ty := range gguf.SupportedTypes() {
		n := max(ty.BlockSize(), 32)
		y := dequantize(t, ty, quantize(t, ty, make([]float32, n)), n)
		for i, v := range y {
			if v != 0 {
				t.Fatalf("%v: zero block decodes to %g at %d", ty, v, i)
			}
		}
		tiny := make([]float32, n)
		for i := range tiny {
			tiny[i] = float32(i%7-3) * 1e-30
		}
		y = dequantize(t, ty, quantize(t, ty, tiny), n)
		for i, v := range y {
			if v != v || abs32(v) > 1e-20 {
				t.Fatalf("%v: tiny input decodes to %g at %d", ty, v, i)
			}
		}
	}
	// Values on a quantizer's grid round-trip exactly: for Q8_0 a block
	// holding ±127 and integers decodes to itself.
	x := make([]float32, 32)
	for i := range x {
		x[i] = float32(i*8 - 127)
	}
	x[31] = 127
	y := dequantize(t, gguf.TypeQ8_0, quantize(t, gguf.TypeQ8_0, x), 32)
	for i := range x {
		if x[i] != y[i] {
			t.Fatalf("Q8_0 grid values: x[%d]=%g decodes to %g", i, x[i], y[i])
		}
	}
}

func TestSizeErrors(t *testing.T) {
	for _, ty := range gguf.SupportedTypes() {
		bs, bb := ty.BlockSize(), ty.BlockBytes()
		if bs > 1 {
			if err := Dequantize(ty, make([]byte, 4*bb), make([]float32, bs+1)); err == nil {
				t.Errorf("%v: Dequantize accepted %d values", ty, bs+1)
			}
			if err := Quantize(ty, make([]float32, bs-1), make([]byte, 4*bb)); err == nil {
				t.Errorf("%v: Quantize accepted %d values", ty, bs-1)
			}
		}
		if err := Dequantize(ty, make([]byte, 2*bb-1), make([]float32, 2*bs)); err == nil {
			t.Errorf("%v: Dequantize accepted a short source", ty)
		} else {
			t.Logf("%v: %v", ty, err)
		}
		if err := Quantize(ty, make([]float32, 2*bs), make([]byte, 2*bb-1)); err == nil {
			t.Errorf("%v: Quantize accepted a short destination", ty)
		}
		if err := Dequantize(ty, nil, nil); err != nil {
			t.Errorf("%v: empty Dequantize: %v", ty, err)
		}
	}
	for _, ty := range []gguf.Type{gguf.TypeQ8_1, gguf.TypeQ2_K, gguf.TypeQ3_K, 5, 99, 1 << 31} {
		if err := Dequantize(ty, make([]byte, 1024), make([]float32, 256)); err == nil {
			t.Errorf("%v: Dequantize accepted an unsupported type", ty)
		}
		if err := Quantize(ty, make([]float32, 256), make([]byte, 1024)); err == nil {
			t.Errorf("%v: Quantize accepted an unsupported type", ty)
		}
	}
}

func TestNearestInt(t *testing.T) {
	for _, c := range []struct {
		f    float32
		want int32
	}{{0, 0}, {0.5, 0}, {1.5, 2}, {2.5, 2}, {-0.5, 0}, {-1.5, -2}, {-2.5, -2}, {0.49999997, 0},
		{3.7, 4}, {-3.7, -4}, {4194303, 4194303}, {-4194303, -4194303}} {
		if got := nearestInt(c.f); got != c.want {
			t.Errorf("nearestInt(%g) = %d, want %d", c.f, got, c.want)
		}
	}
}

func TestOps(t *testing.T) {
	x := []float32{1, -2, 3, -4}
	w := []float32{1, 2, 0.5, 1}
	dst := make([]float32, 4)
	RMSNorm(dst, x, w, 0)
	// mean of squares 7.5
	s := float32(1 / math.Sqrt(7.5))
	for i := range x {
		if want := x[i] * s * w[i]; math.Abs(float64(dst[i]-want)) > 1e-6 {
			t.Errorf("RMSNorm[%d] = %g, want %g", i, dst[i], want)
		}
	}
	p := []float32{1, 2, 3, 1000}
	Softmax(p)
	if p[3] != 1 || p[0] != 0 {
		t.Errorf("Softmax of a dominant value: %v", p)
	}
	p = []float32{0, float32(math.Log(3))}
	Softmax(p)
	if math.Abs(float64(p[0]-0.25)) > 1e-6 || math.Abs(float64(p[1]-0.75)) > 1e-6 {
		t.Errorf("Softmax = %v, want [0.25 0.75]", p)
	}
	if v := SiLU(0); v != 0 {
		t.Errorf("SiLU(0) = %g", v)
	}
	if v, want := SiLU(2), float32(2/(1+math.Exp(-2))); math.Abs(float64(v-want)) > 1e-6 {
		t.Errorf("SiLU(2) = %g, want %g", v, want)
	}
	a, b := []float32{1, 2, 3}, []float32{4, 5, 6}
	out := make([]float32, 3)
	Add(out, a, b)
	if fmt.Sprint(out) != "[5 7 9]" {
		t.Errorf("Add = %v", out)
	}
	Mul(out, a, b)
	if fmt.Sprint(out) != "[4 10 18]" {
		t.Errorf("Mul = %v", out)
	}
	Scale(out, 0.5)
	if fmt.Sprint(out) != "[2 5 9]" {
		t.Errorf("Scale = %v", out)
	}
	Axpy(out, 2, a)
	if fmt.Sprint(out) != "[4 9 15]" {
		t.Errorf("Axpy = %v", out)
	}
	if d := DotF32(a, b); d != 32 {
		t.Errorf("DotF32 = %g", d)
	}
}
