package kernels

import (
	"fmt"
	"os"

	"github.com/tandem-llm/tandem/gguf"
)

// Quantized dot products, as ggml computes them: the activation vector is
// first encoded as the weight type's VecDotType (QuantizeActivations), then
// each weight row is dotted with it block by block in integers (DotQ).
// DotQRef is the plain reference; DotQ, MatVecQ and MatMulQ use the fastest
// kernels for this CPU. Activation rows passed to them must come from
// QuantizeActivations: the fast kernels rely on activation quants lying in
// [-127, 127], which the quantizers guarantee. Weight bytes may be anything.

// VecDotType is the type ggml quantizes activations to for a dot product with
// weights of type t: Q8_0 for Q4_0, Q5_0 and Q8_0; Q8_1 for Q4_1 and Q5_1;
// Q8_K for the k-quants; the float types keep their own type. It panics for
// types without a dot product.
func VecDotType(t gguf.Type) gguf.Type {
	switch t {
	case gguf.TypeQ4_0, gguf.TypeQ5_0, gguf.TypeQ8_0:
		return gguf.TypeQ8_0
	case gguf.TypeQ4_1, gguf.TypeQ5_1:
		return gguf.TypeQ8_1
	case gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeQ8_K:
		return gguf.TypeQ8_K
	case gguf.TypeF16, gguf.TypeBF16, gguf.TypeF32:
		return t
	}
	panic(fmt.Sprintf("kernels: no quantized dot product for %v", t))
}

// QuantizeActivations encodes x as VecDotType(t) into dst, as ggml's
// from_float does with its reference quantizers (quantize_row_q8_0_ref,
// q8_1_ref, q8_K_ref with bsums; plain F16/BF16 rounding). len(x) must be a
// multiple of the block size and len(dst) >= VecDotType(t).RowBytes(len(x)).
// It does not allocate. The Q8 encodings run SIMD encoders where the CPU
// has them (see quantizeQ8), with the same bytes as the references.
func QuantizeActivations(t gguf.Type, x []float32, dst []byte) {
	vt := VecDotType(t)
	bs := vt.BlockSize()
	if len(x)%bs != 0 || len(dst) < vt.RowBytes(len(x)) {
		panic(fmt.Sprintf("kernels: QuantizeActivations %v: %d values into %d bytes", vt, len(x), len(dst)))
	}
	switch vt {
	case gguf.TypeF32:
		encodeF32(x, dst)
	case gguf.TypeF16:
		encodeF16(x, dst)
	case gguf.TypeBF16:
		encodeBF16(x, dst)
	default:
		quantizeQ8(vt, x, dst)
	}
}

// quantizeQ8 encodes x (whole blocks) as vt, which is Q8_0, Q8_1 or Q8_K,
// into dst. The SIMD encoders (ops_<arch>.s), where present, write the same
// bytes as the references for the blocks they accept: finite values whose
// largest magnitude is at least 2⁻¹⁰⁰ (so that the scales and their
// reciprocals are normal floats and every quant lies in [-127, 127]), and for
// Q8_K a largest magnitude held by values of one sign only (which of them
// comes first picks the sign of the scale). The references encode the
// rest: NaN, Inf, all-zero and tiny blocks.
func quantizeQ8(vt gguf.Type, x []float32, dst []byte) {
	bs, bb := vt.BlockSize(), vt.BlockBytes()
	nb := len(x) / bs
	for i := 0; i < nb; i++ {
		if useOps {
			if i += opQuantize(vt, x[i*bs:nb*bs], dst[i*bb:nb*bb], nb-i); i == nb {
				return
			}
		}
		xb, b := x[i*bs:(i+1)*bs], dst[i*bb:(i+1)*bb]
		switch vt {
		case gguf.TypeQ8_0:
			encodeQ8_0(xb, b)
		case gguf.TypeQ8_1:
			encodeQ8_1(xb, b)
		default:
			encodeQ8_K(xb, b)
		}
	}
}

// checkDot panics unless row and xq hold n values of t and VecDotType(t).
func checkDot(op string, t gguf.Type, rowBytes, xqBytes, n int) {
	vt := VecDotType(t)
	if n < 0 || n%t.BlockSize() != 0 || rowBytes < t.RowBytes(n) || xqBytes < vt.RowBytes(n) {
		panic(fmt.Sprintf("kernels: %s %v: n=%d with %d weight and %d activation bytes", op, t, n, rowBytes, xqBytes))
	}
}

// DotQ returns the dot product of one row of n values of type t with the
// activations xq (encoded by QuantizeActivations), using the fastest kernel
// for this CPU. It agrees with DotQRef up to float32 summation order (see
// vecdot_test.go for the bound) and does not allocate.
func DotQ(t gguf.Type, row, xq []byte, n int) float32 {
	checkDot("DotQ", t, len(row), len(xq), n)
	if k := dispatch.lookup(t); k != nil {
		return k.dot(row, xq, n)
	}
	return dotQRef(t, row, xq, n)
}

// MatVecQ sets dst[r] = DotQ(t, row r of w, xq, n) for r < len(dst); rows are
// t.RowBytes(n) bytes apart. Results are bit-identical to DotQ's.
func MatVecQ(dst []float32, t gguf.Type, w, xq []byte, n int) {
	checkDot("MatVecQ", t, len(w), len(xq), n)
	if len(w) < len(dst)*t.RowBytes(n) {
		panic(fmt.Sprintf("kernels: MatVecQ %v: %d rows of %d values need %d bytes, have %d",
			t, len(dst), n, len(dst)*t.RowBytes(n), len(w)))
	}
	if k := dispatch.lookup(t); k != nil && k.matVec != nil {
		k.matVec(dst, w, xq, n)
		return
	}
	stride := t.RowBytes(n)
	for r := range dst {
		dst[r] = DotQ(t, w[r*stride:(r+1)*stride], xq, n)
	}
}

// MatMulQ multiplies B activation rows by the weight matrix: xq holds B rows
// of VecDotType(t).RowBytes(n) bytes each, one after another, and dst is
// (B, rows) row-major with rows = len(dst)/B, so
//
//	dst[b*rows+r] = DotQ(t, weight row r, activation row b, n)
//
// bit for bit. This is prefill: the fast kernels tile it so each weight row is
// read once for several activation rows.
func MatMulQ(dst []float32, t gguf.Type, w, xq []byte, n, B int) {
	if B <= 0 || len(dst)%B != 0 {
		panic(fmt.Sprintf("kernels: MatMulQ: len(dst)=%d is not a multiple of B=%d", len(dst), B))
	}
	rows := len(dst) / B
	checkDot("MatMulQ", t, len(w), len(xq), n)
	ws, xs := t.RowBytes(n), VecDotType(t).RowBytes(n)
	if len(w) < rows*ws || len(xq) < B*xs {
		panic(fmt.Sprintf("kernels: MatMulQ %v: %dx%d weights and %d activation rows need %d and %d bytes, have %d and %d",
			t, rows, n, B, rows*ws, B*xs, len(w), len(xq)))
	}
	if k := dispatch.lookup(t); k != nil && k.matMul != nil {
		k.matMul(dst, w, xq, n, B)
		return
	}
	for b := range B {
		MatVecQ(dst[b*rows:(b+1)*rows], t, w, xq[b*xs:(b+1)*xs], n)
	}
}

// DotQRef is ggml's generic C ggml_vec_dot_<t>_<vecdot>: integer products per
// block, scaled and summed in float32 in the C code's order (float products
// summed in float64 for the float types). xq must hold n values encoded by
// QuantizeActivations. It panics on short inputs.
func DotQRef(t gguf.Type, row, xq []byte, n int) float32 {
	checkDot("DotQRef", t, len(row), len(xq), n)
	return dotQRef(t, row, xq, n)
}

// Kernels names the kernel set in use: "generic" for the references, or an
// architecture's set such as "avx2" or "avx512vnni".
func Kernels() string { return dispatch.name }

// qKernels is one weight type's fast path. Sizes are checked before they are
// called. matVec and matMul may be nil (the exported functions then loop over
// dot); when set they must give results bit-identical to dot's.
type qKernels struct {
	dot    func(row, xq []byte, n int) float32
	matVec func(dst []float32, w, xq []byte, n int)
	matMul func(dst []float32, w, xq []byte, n, B int)
}

// kernelSet is the dispatch decision: a name and the fast path of each type
// (nil: the reference).
type kernelSet struct {
	name   string
	byType [gguf.TypeBF16 + 1]*qKernels
}

func (s *kernelSet) lookup(t gguf.Type) *qKernels {
	if int(t) < len(s.byType) {
		return s.byType[t]
	}
	return nil
}

// dispatch is the only mutable package state: the kernel choice, made once
// at initialization by the architecture files' init functions from the CPU's
// features (golang.org/x/sys/cpu) and never changed afterwards. forceGeneric
// and forceAVX2 are read before any init function runs:
// TANDEM_KERNELS=generic keeps the references, e.g. to rule the fast kernels
// out when debugging; TANDEM_KERNELS=avx2 skips AVX-512 on amd64 (to test
// or compare the AVX2 kernels on a newer CPU).
var (
	dispatch     = kernelSet{name: "generic"}
	forceGeneric = os.Getenv("TANDEM_KERNELS") == "generic"
	forceAVX2    = os.Getenv("TANDEM_KERNELS") == "avx2"
)
