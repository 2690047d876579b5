package kernels

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tandem-llm/tandem/gguf"
)

// dotTypes are the weight types with a quantized dot product.
var dotTypes = []gguf.Type{gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16, gguf.TypeQ8_0, gguf.TypeQ4_0,
	gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeQ8_K}

func quantizeActs(t gguf.Type, x []float32) []byte {
	b := make([]byte, VecDotType(t).RowBytes(len(x)))
	QuantizeActivations(t, x, b)
	return b
}

// decodeActs dequantizes activations of VecDotType(t) (Q8_1 included).
func decodeActs(t testing.TB, ty gguf.Type, b []byte, n int) []float32 {
	if VecDotType(ty) != gguf.TypeQ8_1 {
		return dequantize(t, VecDotType(ty), b, n)
	}
	y := make([]float32, n)
	for i := range n / 32 {
		d := loadF16(b[36*i:])
		for j := range 32 {
			y[32*i+j] = float32(int8(b[36*i+4+j])) * d
		}
	}
	return y
}

// dotScale is the magnitude the float error of a dot product is measured
// against: sum |w_i*y_i| over the dequantized values plus sum |z_i*y_i|, z
// being the row with its quants zeroed (the min/offset part), so it bounds
// every partial sum the kernels form, offsets and mins included.
func dotScale(t testing.TB, ty gguf.Type, row, xq []byte, n int) float64 {
	w := dequantize(t, ty, row, n)
	y := decodeActs(t, ty, xq, n)
	z := make([]float32, n)
	if bs := ty.BlockSize(); bs > 1 {
		zr := bytes.Clone(row[:ty.RowBytes(n)])
		for i := 0; i < n/bs; i++ {
			b := zr[i*ty.BlockBytes() : (i+1)*ty.BlockBytes()]
			switch ty {
			case gguf.TypeQ4_1, gguf.TypeQ5_1, gguf.TypeQ4_K, gguf.TypeQ5_K:
				hdr := map[gguf.Type]int{gguf.TypeQ4_1: 4, gguf.TypeQ5_1: 4, gguf.TypeQ4_K: 16, gguf.TypeQ5_K: 16}[ty]
				clear(b[hdr:])
			}
		}
		z = dequantize(t, ty, zr, n)
	}
	var s float64
	for i := range n {
		s += math.Abs(float64(w[i])*float64(y[i])) + 2*math.Abs(float64(z[i])*float64(y[i]))
	}
	return s
}

// dotTol is the allowed |fast - ref| (and |ref - exact|). The integer parts
// are exact; the float parts sum chains of at most m rounded float32 terms,
// each bounded by scale (m = blocks + 8: per-block terms and the final
// reduction; for the float types m = n/16 + 8, the SIMD kernels' chains, the
// reference summing in float64). Each side is then within m*2^-24*scale of
// the exact value. For n = 8192 that is 3.1e-5*scale for the 32-value types,
// 4e-6*scale for the k-quants, 6e-5*scale for the float types; the observed
// error on the test data stays below 1e-7*scale (5% of the bound).
func dotTol(ty gguf.Type, n int, scale float64) float64 {
	m := n/ty.BlockSize() + 8
	if ty.BlockSize() == 1 {
		m = n/16 + 8
	}
	return 2 * float64(m) * 0x1p-24 * scale
}

func TestVecDotType(t *testing.T) {
	for _, ty := range dotTypes {
		vt := VecDotType(ty)
		if vt.BlockSize() != ty.BlockSize() && ty.BlockSize() != 1 {
			t.Errorf("%v: vec dot type %v has block size %d", ty, vt, vt.BlockSize())
		}
	}
	if VecDotType(gguf.TypeQ4_1) != gguf.TypeQ8_1 || VecDotType(gguf.TypeQ6_K) != gguf.TypeQ8_K ||
		VecDotType(gguf.TypeQ5_0) != gguf.TypeQ8_0 || VecDotType(gguf.TypeBF16) != gguf.TypeBF16 {
		t.Error("VecDotType mapping")
	}
}

// TestQuantizeActivations: the activation encoders are the reference
// quantizers, byte for byte; Q8_1 against a known answer from ggml's
// quantize_row_q8_1_ref compiled with gcc (F16C rounding).
func TestQuantizeActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 1024)
	for i := range x {
		x[i] = float32(rng.NormFloat64()) * float32(math.Pow(10, float64(i/256-2)))
	}
	for _, ty := range []gguf.Type{gguf.TypeQ4_0, gguf.TypeQ6_K, gguf.TypeF16, gguf.TypeBF16, gguf.TypeF32} {
		vt := VecDotType(ty)
		if got, want := quantizeActs(ty, x), quantize(t, vt, x); !bytes.Equal(got, want) {
			t.Errorf("%v: QuantizeActivations differs from Quantize(%v)", ty, vt)
		}
	}
	// Q8_1's quants and d are Q8_0's.
	q81, q80 := quantizeActs(gguf.TypeQ4_1, x), quantize(t, gguf.TypeQ8_0, x)
	for i := range len(x) / 32 {
		if !bytes.Equal(q81[36*i:36*i+2], q80[34*i:34*i+2]) || !bytes.Equal(q81[36*i+4:36*i+36], q80[34*i+2:34*i+34]) {
			t.Fatalf("Q8_1 block %d differs from Q8_0", i)
		}
	}
	xk := make([]float32, 64)
	for i := range xk {
		s := float32(1)
		if i >= 32 {
			s = 0.003
		}
		xk[i] = float32(0.1+2*float64(float32(math.Cos(float64(float32(i)*0.7))))) * s
	}
	want := []byte{60, 36, 26, 68, 127, 99, 27, 201, 148, 149, 203, 29, 100, 127, 97, 25, 199, 147, 150, 205, 31, 101, 127, 96,
		23, 198, 147, 150, 206, 33, 102, 127, 95, 21, 196, 146, 62, 3, 70, 35, 151, 208, 35, 104, 127, 93, 19, 194, 145, 152,
		210, 37, 105, 127, 92, 17, 192, 145, 153, 212, 39, 106, 127, 90, 15, 191, 144, 153, 214, 41, 107, 126}
	if got := quantizeActs(gguf.TypeQ5_1, xk); !bytes.Equal(got, want) {
		t.Errorf("Q8_1 known answer:\n got %v\nwant %v", got, want)
	}
	for _, f := range []func(){
		func() { QuantizeActivations(gguf.TypeQ8_0, make([]float32, 33), make([]byte, 100)) },
		func() { QuantizeActivations(gguf.TypeQ4_K, make([]float32, 256), make([]byte, 291)) },
		func() { QuantizeActivations(gguf.TypeQ2_K, make([]float32, 256), make([]byte, 1000)) },
	} {
		if !panics(f) {
			t.Error("QuantizeActivations accepted bad input")
		}
	}
}

func panics(f func()) (p bool) {
	defer func() { p = recover() != nil }()
	f()
	return false
}

// TestDotQRef checks the references two ways. Against the exact dot of the
// dequantized weights and activations they differ only by float32 rounding
// (dotTol), and for Q4_1/Q5_1 by the F16 rounding of Q8_1's s = d*sum(q)
// (2^-11 of the min term). Against Dot with unquantized activations (the
// float oracle), the difference is the activation quantization error:
// ggml's test-quantize-fns bound |dot - ref|/n < MAX_DOT_PRODUCT_ERROR
// (0.02) on its data, and within 2% of sum |w*x| on random data.
func TestDotQRef(t *testing.T) {
	const n = 4096
	x1, x2 := ggmlData(0, n), ggmlData(1, n)
	rng := rand.New(rand.NewPCG(3, 4))
	r1, r2 := make([]float32, n), make([]float32, n)
	for i := range r1 {
		r1[i], r2[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	for _, ty := range dotTypes {
		for _, data := range [][2][]float32{{x1, x2}, {r1, r2}} {
			w, x := data[0], data[1]
			row, xq := quantize(t, ty, w), quantizeActs(ty, x)
			got := float64(DotQRef(ty, row, xq, n))

			wd, yd := dequantize(t, ty, row, n), decodeActs(t, ty, xq, n)
			var exact, absWX float64
			for i := range wd {
				exact += float64(wd[i]) * float64(yd[i])
				absWX += math.Abs(float64(wd[i]) * float64(x[i]))
			}
			scale := dotScale(t, ty, row, xq, n)
			tol := dotTol(ty, n, scale)
			if ty == gguf.TypeQ4_1 || ty == gguf.TypeQ5_1 {
				tol += 0x1p-11 * scale
			}
			if math.Abs(got-exact) > tol {
				t.Errorf("%v: DotQRef %g, exact dot of the decoded operands %g (tol %g)", ty, got, exact, tol)
			}
			oracle := float64(Dot(ty, row, x))
			if e := math.Abs(got-oracle) / n; &data[0][0] == &x1[0] && e > 0.02 {
				t.Errorf("%v: |DotQRef - Dot|/n = %g > 0.02", ty, e)
			}
			if e := math.Abs(got-oracle) / absWX; e > 0.02 {
				t.Errorf("%v: DotQRef %g vs float oracle %g: error %.3g of sum|w*x|", ty, got, oracle, e)
			}
		}
	}
}

// fastTypes are the types with a fast path on this machine.
func fastTypes() []gguf.Type {
	var out []gguf.Type
	for _, ty := range dotTypes {
		if dispatch.lookup(ty) != nil {
			out = append(out, ty)
		}
	}
	return out
}

// randomRow returns n values of ty as random bytes with finite F16 fields
// (random scales from tiny to 65504; NaN/Inf scales are left to the fuzzer).
func randomRow(rng *rand.Rand, ty gguf.Type, n int) []byte {
	b := make([]byte, ty.RowBytes(n))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	fix := func(off int) {
		if h := binary.LittleEndian.Uint16(b[off:]); h&0x7c00 == 0x7c00 {
			binary.LittleEndian.PutUint16(b[off:], h&^0x4000)
		}
	}
	switch ty {
	case gguf.TypeF32:
		for i := range n {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(rng.NormFloat64())))
		}
	case gguf.TypeF16:
		for i := range n {
			fix(2 * i)
		}
	case gguf.TypeBF16:
		for i := range n {
			binary.LittleEndian.PutUint16(b[2*i:], F32ToBF16(float32(rng.NormFloat64())))
		}
	default:
		offs := map[gguf.Type][]int{gguf.TypeQ8_0: {0}, gguf.TypeQ4_0: {0}, gguf.TypeQ5_0: {0},
			gguf.TypeQ4_1: {0, 2}, gguf.TypeQ5_1: {0, 2}, gguf.TypeQ4_K: {0, 2}, gguf.TypeQ5_K: {0, 2},
			gguf.TypeQ6_K: {208}}[ty]
		for i := range n / ty.BlockSize() {
			for _, o := range offs {
				fix(i*ty.BlockBytes() + o)
			}
			if ty == gguf.TypeQ8_K { // d is a float32
				binary.LittleEndian.PutUint32(b[i*292:], math.Float32bits(float32(rng.NormFloat64())))
			}
		}
	}
	return b
}

// dotCase is one differential test input.
type dotCase struct {
	name    string
	row, xq []byte
	n       int
}

// dotCases returns random and edge-case inputs of ty.
func dotCases(t testing.TB, rng *rand.Rand, ty gguf.Type) []dotCase {
	bs := ty.BlockSize()
	sizes := []int{bs, 2 * bs, 7 * bs, 8192}
	if bs == 1 {
		sizes = []int{1, 15, 16, 17, 33, 100, 8192}
	}
	acts := func(n int, f func(i int) float32) []byte {
		x := make([]float32, n)
		for i := range x {
			x[i] = f(i)
		}
		return quantizeActs(ty, x)
	}
	normal := func(i int) float32 { return float32(rng.NormFloat64()) }
	var cs []dotCase
	for _, n := range sizes {
		cs = append(cs,
			dotCase{fmt.Sprintf("random/%d", n), randomRow(rng, ty, n), acts(n, normal), n},
			dotCase{fmt.Sprintf("quantized/%d", n), quantize(t, ty, acts2floats(rng, n)), acts(n, normal), n})
	}
	n := 4 * bs
	if bs == 1 {
		n = 64
	}
	rb := ty.RowBytes(n)
	fill := func(v byte) []byte { return bytes.Repeat([]byte{v}, rb) }
	big := func(i int) float32 { return []float32{1000, -1000, 3e4, -999.5}[i%4] }
	extreme := func(i int) float32 {
		if i%2 == 0 {
			return 127
		}
		return -127
	}
	cs = append(cs,
		dotCase{"zero", make([]byte, rb), acts(n, func(int) float32 { return 0 }), n},
		dotCase{"zero-weights", make([]byte, rb), acts(n, normal), n},
		dotCase{"zero-acts", randomRow(rng, ty, n), acts(n, func(int) float32 { return 0 }), n},
		dotCase{"0xee", fill(0xee), acts(n, extreme), n},
		dotCase{"0x80", fill(0x80), acts(n, extreme), n},
		dotCase{"0x7b", fill(0x7b), acts(n, big), n}, // F16 0x7b7b: large scales
		dotCase{"0x01", fill(0x01), acts(n, big), n}, // subnormal scales
		dotCase{"maxquant", maxQuants(t, ty, n), acts(n, extreme), n},
	)
	return cs
}

func acts2floats(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// maxQuants is a row with every quant at its largest and F16 scales of 1.
func maxQuants(t testing.TB, ty gguf.Type, n int) []byte {
	b := bytes.Repeat([]byte{0xff}, ty.RowBytes(n))
	if ty.BlockSize() == 1 {
		return quantize(t, ty, make([]float32, n))
	}
	for i := range n / ty.BlockSize() {
		blk := b[i*ty.BlockBytes() : (i+1)*ty.BlockBytes()]
		switch ty {
		case gguf.TypeQ6_K:
			binary.LittleEndian.PutUint16(blk[208:], 0x3c00)
			for j := range 16 {
				blk[192+j] = 0x80 // scale -128
			}
		case gguf.TypeQ8_K:
			binary.LittleEndian.PutUint32(blk, math.Float32bits(1))
			for j := range 256 {
				blk[4+j] = 0x81 // -127
			}
		case gguf.TypeQ8_0:
			binary.LittleEndian.PutUint16(blk, 0x3c00)
			for j := range 32 {
				blk[2+j] = 0x80 // -128
			}
		case gguf.TypeQ4_1, gguf.TypeQ5_1, gguf.TypeQ4_K, gguf.TypeQ5_K: // d and min scale
			binary.LittleEndian.PutUint32(blk, 0x3c003c00)
		default:
			binary.LittleEndian.PutUint16(blk, 0x3c00)
		}
	}
	return b
}

// checkFast compares the fast DotQ with DotQRef on one input.
func checkFast(t *testing.T, ty gguf.Type, c dotCase) {
	t.Helper()
	ref := float64(DotQRef(ty, c.row, c.xq, c.n))
	got := float64(DotQ(ty, c.row, c.xq, c.n))
	if got == ref || (got != got && ref != ref) { // equal, or both NaN
		return
	}
	scale := dotScale(t, ty, c.row, c.xq, c.n)
	if math.IsInf(scale, 0) || scale != scale || scale > 1e30 {
		return
	}
	if tol := dotTol(ty, c.n, scale); !(math.Abs(got-ref) <= tol) {
		t.Errorf("%v %s: DotQ %g, DotQRef %g (diff %g, tol %g)", ty, c.name, got, ref, got-ref, tol)
	}
}

// TestDotQ compares the fast kernels with the references on random and edge
// inputs within dotTol.
func TestDotQ(t *testing.T) {
	t.Logf("kernels: %s, fast types %v", Kernels(), fastTypes())
	rng := rand.New(rand.NewPCG(5, 6))
	for _, ty := range dotTypes {
		for _, c := range dotCases(t, rng, ty) {
			checkFast(t, ty, c)
		}
	}
}

// TestMatQ checks MatVecQ and MatMulQ against DotQ bit for bit (every tile
// shape runs the same per-pair arithmetic), for odd row counts, B = 1..9 and
// sizes with and without a float tail (6 and 13 blocks: the avx512
// Q4_0/Q5_0 kernels' odd and partial last quads).
func TestMatQ(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, ty := range dotTypes {
		bs := ty.BlockSize()
		for _, n := range []int{bs, 3 * bs, 6 * bs, 13 * bs, 2 * gguf.QK_K, 2*gguf.QK_K + 16*(bs&1) + 3*(bs&1)} {
			if n%bs != 0 {
				continue
			}
			const rows = 11
			ws, xs := ty.RowBytes(n), VecDotType(ty).RowBytes(n)
			w := randomRow(rng, ty, rows*n)
			const maxB = 9
			xq := make([]byte, maxB*xs)
			for b := range maxB {
				QuantizeActivations(ty, acts2floats(rng, n), xq[b*xs:(b+1)*xs])
			}
			want := make([]float32, maxB*rows)
			for b := range maxB {
				for r := range rows {
					want[b*rows+r] = DotQ(ty, w[r*ws:(r+1)*ws], xq[b*xs:(b+1)*xs], n)
				}
			}
			for nr := 0; nr <= rows; nr++ {
				got := make([]float32, nr)
				MatVecQ(got, ty, w, xq, n)
				for r := range nr {
					if math.Float32bits(got[r]) != math.Float32bits(want[r]) {
						t.Fatalf("%v n=%d rows=%d: MatVecQ[%d] = %g, DotQ %g", ty, n, nr, r, got[r], want[r])
					}
				}
			}
			for _, nr := range []int{1, 2, 3, 4, 5, 7, 8, 11} {
				for B := 1; B <= maxB; B++ {
					got := make([]float32, B*nr)
					MatMulQ(got, ty, w[:nr*ws], xq[:B*xs], n, B)
					for b := range B {
						for r := range nr {
							if g, wnt := got[b*nr+r], want[b*rows+r]; math.Float32bits(g) != math.Float32bits(wnt) {
								t.Fatalf("%v n=%d rows=%d B=%d: MatMulQ[%d,%d] = %g, DotQ %g", ty, n, nr, B, b, r, g, wnt)
							}
						}
					}
				}
			}
		}
	}
}

func TestDotQZeroAndPanics(t *testing.T) {
	for _, ty := range dotTypes {
		if DotQ(ty, nil, nil, 0) != 0 || DotQRef(ty, nil, nil, 0) != 0 {
			t.Errorf("%v: empty dot", ty)
		}
		dst := []float32{1, 2}
		MatMulQ(dst, ty, nil, nil, 0, 1)
		if dst[0] != 0 || dst[1] != 0 {
			t.Errorf("%v: MatMulQ with n = 0", ty)
		}
		bs := max(ty.BlockSize(), 16)
		if !panics(func() { DotQ(ty, make([]byte, ty.RowBytes(bs)-1), make([]byte, 1<<12), bs) }) ||
			!panics(func() { DotQ(ty, make([]byte, 1<<12), make([]byte, VecDotType(ty).RowBytes(bs)-1), bs) }) ||
			!panics(func() { MatVecQ(make([]float32, 2), ty, make([]byte, ty.RowBytes(bs)), make([]byte, 1<<12), bs) }) ||
			!panics(func() {
				MatMulQ(make([]float32, 4), ty, make([]byte, 2*ty.RowBytes(bs)), make([]byte, VecDotType(ty).RowBytes(bs)), bs, 2)
			}) {
			t.Errorf("%v: short input accepted", ty)
		}
		if ty.BlockSize() > 1 && !panics(func() { DotQ(ty, make([]byte, 1<<12), make([]byte, 1<<12), ty.BlockSize()+1) }) {
			t.Errorf("%v: partial block accepted", ty)
		}
	}
}

func TestDotQNoAlloc(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, ty := range dotTypes {
		n := 512
		w := randomRow(rng, ty, 8*n)
		xq := make([]byte, 4*VecDotType(ty).RowBytes(n))
		dst := make([]float32, 32)
		if a := testing.AllocsPerRun(10, func() {
			DotQ(ty, w, xq, n)
			MatVecQ(dst[:8], ty, w, xq, n)
			MatMulQ(dst, ty, w, xq, n, 4)
			QuantizeActivations(ty, make([]float32, 0), xq)
		}); a != 0 {
			t.Errorf("%v: %v allocations", ty, a)
		}
	}
}

// TestKernelsEnv runs this test binary again with TANDEM_KERNELS=generic,
// and on amd64 with TANDEM_KERNELS=avx2 to test the AVX2 kernels on CPUs
// that would pick AVX-512.
func TestKernelsEnv(t *testing.T) {
	switch os.Getenv("TANDEM_KERNELS") {
	case "generic":
		if Kernels() != "generic" || len(fastTypes()) != 0 {
			t.Fatalf("TANDEM_KERNELS=generic: Kernels() = %q", Kernels())
		}
		return
	case "avx2":
		return
	}
	run := func(env, tests string) {
		cmd := exec.Command(os.Args[0], "-test.run="+tests)
		cmd.Env = append(os.Environ(), "TANDEM_KERNELS="+env)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("TANDEM_KERNELS=%s: %v\n%s", env, err, out)
		}
	}
	run("generic", "^TestKernelsEnv$")
	if runtime.GOARCH == "amd64" && Kernels() != "generic" {
		run("avx2", "^(TestDotQ|TestMatQ|TestDotQNoAlloc)$")
	}
}

// FuzzDotQ: any type among dotTypes, row bytes from the fuzzer (NaN and Inf
// scales included), activations quantized from fuzzer floats: no panic, and
// the fast DotQ within dotTol of DotQRef whenever the result is in float
// range (beyond it, which Inf or NaN comes out depends on summation order,
// as in ggml). MatVecQ and MatMulQ must match DotQ bit for bit.
func FuzzDotQ(f *testing.F) {
	f.Add(uint8(3), uint8(1), []byte{0, 0x3c, 1, 2, 3}, []byte{1, 2, 3, 4})
	f.Add(uint8(9), uint8(2), []byte{0xff, 0x7b, 0x80}, []byte{0x80, 0x7f})
	f.Add(uint8(0), uint8(20), []byte{0, 0, 0x80, 0x3f}, []byte{0, 0x40, 0x49})
	f.Fuzz(func(t *testing.T, typ, blocks uint8, rowData, xData []byte) {
		ty := dotTypes[int(typ)%len(dotTypes)]
		bs := ty.BlockSize()
		n := (1 + int(blocks)%8) * bs
		if bs == 1 {
			n = int(blocks) + 1
		}
		row := make([]byte, 2*ty.RowBytes(n))
		for i := range row {
			if len(rowData) > 0 {
				row[i] = rowData[i%len(rowData)] + byte(i/len(rowData))
			}
		}
		x := make([]float32, n)
		for i := range x {
			if len(xData) > 1 {
				j := 2 * i % (len(xData) - 1)
				v := int16(binary.LittleEndian.Uint16(xData[j:]))
				x[i] = float32(v) * float32(math.Ldexp(1, int(xData[(j+i)%len(xData)]%40)-20))
			}
		}
		xq := quantizeActs(ty, x)
		checkFast(t, ty, dotCase{"fuzz", row, xq, n})
		got := make([]float32, 4)
		MatMulQ(got, ty, row, append(xq, xq...), n, 2)
		want := DotQ(ty, row, xq, n)
		for i, g := range []float32{got[0], got[2]} {
			if math.Float32bits(g) != math.Float32bits(want) && !(g != g && want != want) {
				t.Fatalf("%v: MatMulQ[%d] = %g, DotQ %g", ty, i, g, want)
			}
		}
	})
}

// TestGenerated checks that vecdot_amd64.s and its stubs are what
// vecdot_gen.go writes (they are not to be edited by hand).
func TestGenerated(t *testing.T) {
	if testing.Short() || runtime.GOARCH != "amd64" {
		t.Skip("runs the generator; checked on amd64 only")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool")
	}
	dir := t.TempDir()
	if out, err := exec.Command(goTool, "run", "vecdot_gen.go", dir).CombinedOutput(); err != nil {
		t.Fatalf("go run vecdot_gen.go: %v\n%s", err, out)
	}
	for _, f := range []string{"vecdot_amd64.s", "vecdot_stubs_amd64.go"} {
		want, err1 := os.ReadFile(filepath.Join(dir, f))
		got, err2 := os.ReadFile(f)
		if err1 != nil || err2 != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not what vecdot_gen.go generates (%v, %v): run go generate", f, err1, err2)
		}
	}
}

// TestMatVecQRowRuns: MatVecQ's row runs (16 rows at a time, the far-
// prefetching variant for activation rows over longRow bytes) equal DotQ bit
// for bit, on short and long rows, with a partial last run.
func TestMatVecQRowRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, ty := range dotTypes {
		for _, n := range []int{2048, 8192} {
			if n%ty.BlockSize() != 0 {
				continue
			}
			const rows = 35
			ws := ty.RowBytes(n)
			w := randomRow(rng, ty, rows*n)
			xq := make([]byte, VecDotType(ty).RowBytes(n))
			QuantizeActivations(ty, acts2floats(rng, n), xq)
			got := make([]float32, rows)
			MatVecQ(got, ty, w, xq, n)
			for r := range rows {
				if want := DotQ(ty, w[r*ws:(r+1)*ws], xq, n); math.Float32bits(got[r]) != math.Float32bits(want) {
					t.Fatalf("%v n=%d: MatVecQ[%d] = %g, DotQ %g", ty, n, r, got[r], want)
				}
			}
		}
	}
}
