package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/tandem-llm/tandem/gguf"
)

// neonCase is one assembly kernel with its weight and activation types.
type neonCase struct {
	w, act gguf.Type
	fn     tileFunc
}

var neonCases = []neonCase{
	{gguf.TypeQ8_0, gguf.TypeQ8_0, nQ8_0_1x1},
	{gguf.TypeQ4_0, gguf.TypeQ8_0, nQ4_0_1x1},
	{gguf.TypeQ4_K, gguf.TypeQ8_K, nQ4_K_1x1},
	{gguf.TypeQ5_K, gguf.TypeQ8_K, nQ5_K_1x1},
	{gguf.TypeQ6_K, gguf.TypeQ8_K, nQ6_K_1x1},
	{gguf.TypeF32, gguf.TypeF32, nF32_1x1},
	{gguf.TypeF16, gguf.TypeF16, nF16_1x1},
}

// randomWeights returns a row of n values of type t: with raw false, the
// reference quantizer's output on normal data; with raw true, random bytes
// (every quant value, including ones no quantizer writes) with small
// positive F16 scales patched in, so the result stays in float range.
func randomWeights(rng *rand.Rand, t gguf.Type, n int, raw bool) []byte {
	if !raw {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		b := make([]byte, t.RowBytes(n))
		if err := Quantize(t, x, b); err != nil {
			panic(err)
		}
		return b
	}
	b := make([]byte, t.RowBytes(n))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	half := func(off int) {
		binary.LittleEndian.PutUint16(b[off:], F32ToF16(float32(rng.Float64()*0.02+1e-4)))
	}
	bs, bb := t.BlockSize(), t.BlockBytes()
	for blk := 0; blk < n/bs; blk++ {
		o := blk * bb
		switch t {
		case gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ4_K, gguf.TypeQ5_K:
			half(o)
			if t == gguf.TypeQ4_K || t == gguf.TypeQ5_K {
				half(o + 2)
			}
		case gguf.TypeQ6_K:
			half(o + 208)
		case gguf.TypeF16:
			for i := 0; i < bb; i += 2 {
				half(o + i)
			}
		case gguf.TypeF32:
			binary.LittleEndian.PutUint32(b[o:], math.Float32bits(float32(rng.NormFloat64())))
		}
	}
	return b
}

// exactDot is the float64 dot product of the decoded weights and decoded
// activations, and the sum of |products| for the tolerance. For the
// k-quants with mins, the magnitude also counts the min term on its own,
// since kernels subtract it from the scaled sum separately.
func exactDot(t *testing.T, c neonCase, w, xq []byte, n int) (dot, mag float64) {
	wf := dequantize(t, c.w, w, n)
	xf := dequantize(t, c.act, xq, n)
	for i := range wf {
		p := float64(wf[i]) * float64(xf[i])
		dot += p
		mag += math.Abs(p)
	}
	if c.w == gguf.TypeQ4_K || c.w == gguf.TypeQ5_K {
		bb := c.w.BlockBytes()
		for blk := 0; blk < n/256; blk++ {
			b := w[blk*bb:]
			dmin := math.Abs(float64(loadF16(b[2:])))
			for j := range 8 {
				_, m := getScaleMinK4(j, b[4:16])
				for _, v := range xf[blk*256+32*j : blk*256+32*j+32] {
					mag += 2 * dmin * float64(m) * math.Abs(float64(v))
				}
			}
		}
	}
	return dot, mag
}

// TestNEONKernels runs each 1x1 kernel with SDOT (where the CPU has
// FEAT_DotProd) and with the SMULL/SADALP fallback, on rows from the
// reference quantizers and on random bytes, against the float64 dot of the
// decoded operands. The exported API's differential tests (vecdot_test.go)
// only see the variant init picked.
func TestNEONKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	defer func(saved bool) { useSDOT = saved }(useSDOT)
	dps := []bool{false}
	if cpu.ARM64.HasASIMDDP {
		dps = append(dps, true)
	} else {
		t.Log("no FEAT_DotProd: SDOT paths not tested")
	}
	for _, c := range neonCases {
		bs := c.w.BlockSize()
		if bs == 1 {
			bs = 16 // the float kernels work on 16-value chunks
		}
		for _, nb := range []int{1, 2, 3, 4, 5, 7, 8, 16, 17} {
			n := nb * bs
			for _, raw := range []bool{false, true} {
				w := randomWeights(rng, c.w, n, raw)
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				if raw && rng.IntN(2) == 0 {
					for i := range x {
						x[i] = float32(rng.IntN(3) - 1) // saturate: ±max everywhere
					}
				}
				xq := make([]byte, c.act.RowBytes(n))
				if err := Quantize(c.act, x, xq); err != nil {
					t.Fatal(err)
				}
				want, mag := exactDot(t, c, w, xq, n)
				var res []float32
				for _, dp := range dps {
					name := fmt.Sprintf("%v/nb=%d/raw=%v/dp=%v", c.w, nb, raw, dp)
					useSDOT = dp
					var got float32
					callTile(c.fn, &got, 0, unsafe.SliceData(w), 0, unsafe.SliceData(xq), 0, nb)
					if tol := 1e-5*mag + 1e-30; math.Abs(float64(got)-want) > tol {
						t.Errorf("%s: got %g, want %g (diff %g, tol %g)", name, got, want, float64(got)-want, tol)
					}
					res = append(res, got)
				}
				// The k-quant kernels reduce to exact integer totals before
				// any float step, so SDOT and SDOTP must agree bit for bit.
				if len(res) == 2 && c.w.BlockSize() == gguf.QK_K && res[0] != res[1] {
					t.Errorf("%v/nb=%d/raw=%v: SDOTP %g != SDOT %g", c.w, nb, raw, res[0], res[1])
				}
			}
		}
	}
}

// TestKernelsExpected fails unless Kernels() is TANDEM_EXPECT_KERNELS (when
// set), so that a run under an emulated CPU (.ci/arm64-tests.sh) really
// tests the kernel set it means to.
func TestKernelsExpected(t *testing.T) {
	want := os.Getenv("TANDEM_EXPECT_KERNELS")
	if want == "" {
		t.Skip("TANDEM_EXPECT_KERNELS not set")
	}
	if got := Kernels(); got != want {
		t.Fatalf("Kernels() = %q, want %q (FEAT_DotProd %v)", got, want, cpu.ARM64.HasASIMDDP)
	}
}
