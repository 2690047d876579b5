package model

import (
	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/kernels"
	"github.com/tandem-llm/tandem/parallel"
)

// inputSlots is the number of activation types a weight may ask for: F32,
// F16, BF16, Q8_0, Q8_1, Q8_K.
const inputSlots = 6

// input is the activation matrix of a matmul, B rows of n values, with its
// quantized forms computed lazily: one per activation type, because a
// model's weights may mix types (Q4_K_M files hold Q4_K, Q6_K and Q5_0 or
// Q8_0 tensors) and the q, k and v projections share one input.
type input struct {
	x     []float32
	B, n  int
	valid [inputSlots]bool
	buf   [inputSlots][]byte

	pool *parallel.Pool
	qt   gguf.Type // the weight type being quantized for, for quantizeRows
	qb   []byte
	qFn  func(start, end int) // quantizeRows, bound once
}

func newInput(maxValues int) input {
	var in input
	for i := range in.buf {
		in.buf[i] = make([]byte, 0, 4*maxValues)
	}
	return in
}

// bind finishes the input once it has its final address: quantizeRows is
// bound as a method value so quantizing allocates nothing.
func (in *input) bind(pool *parallel.Pool) {
	in.pool = pool
	in.qFn = in.quantizeRows
}

// set makes x (B rows of n values) the current input.
func (in *input) set(x []float32, B, n int) {
	in.x, in.B, in.n = x[:B*n], B, n
	clear(in.valid[:])
}

func slot(t gguf.Type) int {
	switch t {
	case gguf.TypeF32:
		return 0
	case gguf.TypeF16:
		return 1
	case gguf.TypeBF16:
		return 2
	case gguf.TypeQ8_0:
		return 3
	case gguf.TypeQ8_1:
		return 4
	}
	return 5 // Q8_K
}

// quantized returns the input encoded for weights of type t: B rows of
// VecDotType(t).RowBytes(n) bytes.
func (in *input) quantized(t gguf.Type) []byte {
	vt := kernels.VecDotType(t)
	i := slot(vt)
	if !in.valid[i] {
		in.qt, in.qb = t, in.buf[i][:in.B*vt.RowBytes(in.n)]
		in.pool.For(in.B, 1, in.qFn)
		in.buf[i], in.valid[i] = in.qb, true
	}
	return in.buf[i]
}

func (in *input) quantizeRows(r0, r1 int) {
	rb := kernels.VecDotType(in.qt).RowBytes(in.n)
	for r := r0; r < r1; r++ {
		kernels.QuantizeActivations(in.qt, in.x[r*in.n:(r+1)*in.n], in.qb[r*rb:(r+1)*rb])
	}
}
