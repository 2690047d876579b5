//go:build amd64 || arm64

package kernels

import (
	"encoding/binary"
	"math"
	"sync"
	"unsafe"

	"github.com/tandem-llm/tandem/gguf"
)

// tileFunc names an assembly tile kernel of this architecture (its
// callTile runs it): the dots of R weight rows (at w + r*wstride) with C
// activation rows (at x + c*xstride) over nb units of the type (blocks, or
// 16-value chunks for the float types), stored at dst + c*dstride + 4*r
// (dstride in bytes). Every shape runs the same per-pair instruction
// sequence, so all shapes agree bit for bit. A kernel takes its rows either
// interleaved (a tile: one pass over the activations for R rows, for
// MatMulQ) or one after another (a row run, for MatVecQ: one sequential
// stream of weights, which the hardware prefetchers follow at full memory
// speed where R interleaved streams defeat them).
// Kernels are named by number and called through a switch, not through func
// values, so that escape analysis sees direct calls to //go:noescape
// functions and nothing here allocates.
type tileFunc int

// tiled drives a type's kernels: kmv for MatVecQ (mvR rows per call), kRC
// and its edges kR1/k1C for MatMulQ, k11 for the rest. With prep set, the
// kernels take activations rearranged by prep (prepBytes(n) bytes per row)
// rather than QuantizeActivations' blocks.
type tiled struct {
	t             gguf.Type
	chunk         int // values per nb unit
	k11, kmv      tileFunc
	kmvLong       tileFunc // kmv for activation rows over longRow bytes
	mvR           int
	R, C          int
	kRC, kR1, k1C tileFunc
	floatTail     bool // the float types: values past the last chunk are summed in Go
	prep          func(dst, xq []byte, n int)
	prepBytes     func(n int) int
}

func (k *tiled) kernels() *qKernels {
	return &qKernels{dot: k.dot, matVec: k.matVec, matMul: k.matMul}
}

// prepPool holds the buffers for prepared activations, so that the kernels
// allocate nothing once a buffer of the size needed has been made.
var prepPool = sync.Pool{New: func() any { return new([]byte) }}

// prepare returns xq's first rows activation rows (xs bytes apart)
// rearranged by k.prep, prepBytes(n) bytes apart, in a buffer from prepPool
// (give it back with prepPool.Put), or xq itself if the type has no prep
// (or n is 0).
func (k *tiled) prepare(xq []byte, xs, rows, n int) (x []byte, stride int, buf *[]byte) {
	if k.prep == nil || n == 0 {
		return xq, xs, nil
	}
	ps := k.prepBytes(n)
	buf = prepPool.Get().(*[]byte)
	if cap(*buf) < rows*ps+64 {
		*buf = make([]byte, rows*ps+64)
	}
	// 64-byte aligned, so that the kernels' zmm loads do not straddle
	// cache lines.
	a := int(-uintptr(unsafe.Pointer(unsafe.SliceData(*buf))) & 63)
	x = (*buf)[a : a+rows*ps]
	for c := range rows {
		k.prep(x[c*ps:(c+1)*ps], xq[c*xs:], n)
	}
	return x, ps, buf
}

func (k *tiled) dot(row, xq []byte, n int) float32 {
	var out [1]float32
	x, _, buf := k.prepare(xq, 0, 1, n)
	k.run(k.k11, k.k11, k.k11, k.k11, 1, 1, out[:], 1, row, 0, x, 0, 1, 1, n)
	if buf != nil {
		prepPool.Put(buf)
	}
	return out[0]
}

func (k *tiled) matVec(dst []float32, w, xq []byte, n int) {
	x, _, buf := k.prepare(xq, 0, 1, n)
	mv := k.kmv
	if len(x) > longRow {
		mv = k.kmvLong
	}
	k.run(mv, mv, k.k11, k.k11, k.mvR, 1, dst, len(dst), w, k.t.RowBytes(n), x, 0, len(dst), 1, n)
	if buf != nil {
		prepPool.Put(buf)
	}
}

// matMul prepares at most maxPrep bytes of activation rows at a time (and
// runs the whole weight matrix past each group).
func (k *tiled) matMul(dst []float32, w, xq []byte, n, B int) {
	rows := len(dst) / B
	xs := VecDotType(k.t).RowBytes(n)
	g := B
	if k.prep != nil {
		g = max(1, min(B, maxPrep/max(1, k.prepBytes(n))))
	}
	for b0 := 0; b0 < B; b0 += g {
		nb := min(g, B-b0)
		x, ps, buf := k.prepare(xq[b0*xs:], xs, nb, n)
		k.run(k.kRC, k.kR1, k.k1C, k.k11, k.R, k.C, dst[b0*rows:], rows, w, k.t.RowBytes(n), x, ps, rows, nb, n)
		if buf != nil {
			prepPool.Put(buf)
		}
	}
}

// longRow is the activation row size (bytes, as the kernels read it) past
// which MatVecQ runs the far-prefetching row runs (see farPrefetch in
// vecdot_gen.go).
const longRow = 8 << 10

// maxPrep bounds the prepared activations of one MatMulQ pass: enough for
// 32 rows of 4096 values of the largest preparation, and within L2.
const maxPrep = 512 << 10

// run covers the rows x cols output (dst[c*ld+r]) with R x C tiles, then
// Rx1 / 1xC / 1x1 tiles at the edges. Rows are the outer loop so that a
// tile's weight rows stay in L1 while every activation row passes by.
func (k *tiled) run(kRC, kR1, k1C, k11 tileFunc, R, C int, dst []float32, ld int,
	w []byte, ws int, x []byte, xs int, rows, cols, n int) {
	if rows == 0 || cols == 0 {
		return
	}
	if n == 0 {
		for c := range cols {
			clear(dst[c*ld : c*ld+rows])
		}
		return
	}
	nb := n / k.chunk
	for r := 0; r < rows; {
		rr := min(R, rows-r)
		if rr < R {
			rr = 1
		}
		for c := 0; c < cols; {
			cc := min(C, cols-c)
			if cc < C {
				cc = 1
			}
			f := k11
			switch {
			case rr > 1 && cc > 1:
				f = kRC
			case rr > 1:
				f = kR1
			case cc > 1:
				f = k1C
			}
			_ = dst[(c+cc-1)*ld+r+rr-1] // the kernel writes within dst
			callTile(f, &dst[c*ld+r], uintptr(4*ld), &w[r*ws], uintptr(ws), &x[c*xs], uintptr(xs), nb)
			if k.floatTail && n%k.chunk != 0 {
				for j := range cc {
					for i := range rr {
						dst[(c+j)*ld+r+i] += k.tail(w[(r+i)*ws:], x[(c+j)*xs:], nb*k.chunk, n)
					}
				}
			}
			c += cc
		}
		r += rr
	}
}

// tail is the float types' sum of products for values [n0, n), in float32
// with each product rounded, as the SIMD loops' scalar leftovers.
func (k *tiled) tail(w, x []byte, n0, n int) float32 {
	var s float32
	for i := n0; i < n; i++ {
		var a, b float32
		switch k.t {
		case gguf.TypeF32:
			a = math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:]))
			b = math.Float32frombits(binary.LittleEndian.Uint32(x[4*i:]))
		case gguf.TypeF16:
			a, b = loadF16(w[2*i:]), loadF16(x[2*i:])
		default:
			a = BF16ToF32(binary.LittleEndian.Uint16(w[2*i:]))
			b = BF16ToF32(binary.LittleEndian.Uint16(x[2*i:]))
		}
		s += float32(a * b)
	}
	return s
}
