//go:build ignore

// vecdot_gen writes vecdot_amd64.s, the amd64 tile kernels behind DotQ,
// MatVecQ and MatMulQ: go generate (or go run vecdot_gen.go) in kernels/.
//
// Each kernel computes an R x C tile: R weight rows at w + r*wstride against
// C activation rows at x + c*xstride, over nb blocks (16-value chunks for
// the float types), storing the dot of (r, c) at dst + c*dstride + 4*r.
// Every (r, c) pair runs the same instruction sequence whatever the tile
// shape, so all shapes give bit-identical results; shapes differ only in how
// many weight/activation loads and unpacks they share. The loops are unrolled
// over the tile here, which is why this is generated rather than hand-written.
//
// Three instruction sets: "avx2" (AVX2+FMA+F16C, 16 ymm registers), "vnni"
// (the same plus AVX-512 VNNI's VPDPBUSD/VPDPWSSD on ymm registers, which
// fold the 8-bit products and their int16/int32 sums into one instruction)
// and, for the decode types, "avx512" (32 zmm registers, VNNI, VBMI's byte
// permutes and GFNI's bit shuffles, on activations the Go side prepares).
//
// Besides the tiles, each type has a row run (name suffix _s16): 16 rows
// one after another, each exactly as the 1x1 kernel, for MatVecQ.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

type gen struct {
	b     bytes.Buffer
	used  [32]bool
	nregs int // 16 for the VEX kernels, 32 for avx512
}

func (g *gen) p(format string, args ...any) { fmt.Fprintf(&g.b, "\t"+format+"\n", args...) }

// reg allocates a ymm register by number.
func (g *gen) reg() int {
	for i, u := range g.used[:g.nregs] {
		if !u {
			g.used[i] = true
			return i
		}
	}
	panic("out of ymm registers")
}

func (g *gen) free(rs ...int) {
	for _, r := range rs {
		g.used[r] = false
	}
}

func Y(r int) string { return fmt.Sprintf("Y%d", r) }
func Z(r int) string { return fmt.Sprintf("Z%d", r) }
func X(r int) string { return fmt.Sprintf("X%d", r) }

// wa and xa address weight row r and activation row c of the current block.
func wa(r, off int) string { return addr("SI", "DX", "R8", r, off) }
func xa(c, off int) string { return addr("DI", "CX", "R9", c, off) }

func addr(base, stride, stride3 string, i, off int) string {
	switch i {
	case 0:
		return fmt.Sprintf("%d(%s)", off, base)
	case 1:
		return fmt.Sprintf("%d(%s)(%s*1)", off, base, stride)
	case 2:
		return fmt.Sprintf("%d(%s)(%s*2)", off, base, stride)
	case 3:
		return fmt.Sprintf("%d(%s)(%s*1)", off, base, stride3)
	}
	panic("tile dimension > 4")
}

type kernel struct {
	typ    string // q8_0, ...
	isa    string // avx2, vnni
	R, C   int
	wbytes int // weight bytes per block
	xbytes int // activation bytes per block
	body   func(g *gen, k *kernel, acc [][]int)
	nacc   int  // float accumulators per pair
	run    int  // > 0: a row run of this many rows (R = C = 1), see kernel
	far    bool // a row run that also prefetches farPrefetch ahead into L2
	// avx512: blocks per step (2 for Q8_0, whose odd last block runs body
	// with tail set; 4 for Q4_0/Q5_0, whose partial last quad does), and per-kernel setup
	// (constants in registers) run once before the loops.
	unit   int
	setup  func(g *gen, k *kernel)
	regs   []int // registers setup reserved
	tail   bool  // the body is emitting the odd last block
	accIdx int   // the accumulator of each pair the body adds to (unit 2)
}

func (k *kernel) name() string {
	if k.far {
		return fmt.Sprintf("%s_%s_f%d", k.typ, k.isa, k.run)
	}
	if k.run > 0 {
		return fmt.Sprintf("%s_%s_s%d", k.typ, k.isa, k.run)
	}
	return fmt.Sprintf("%s_%s_%dx%d", k.typ, k.isa, k.R, k.C)
}

func (g *gen) kernel(k *kernel) {
	g.used = [32]bool{}
	g.nregs = 16
	if k.isa == "avx512" {
		g.nregs = 32
	}
	fmt.Fprintf(&g.b, "\n// func %s(dst *float32, dstride uintptr, w *byte, wstride uintptr, x *byte, xstride uintptr, nb int)\n", k.name())
	frame := 0
	if k.typ == "q6_k" { // 32*sum(y) per column and sub-block, see bodyQ6_K
		frame = 256 * k.C
	}
	flags := "NOSPLIT, " // leaf functions; large frames get the stack check
	if frame > 512 {
		flags = ""
	}
	fmt.Fprintf(&g.b, "TEXT ·%s(SB), %s$%d-56\n", k.name(), flags, frame)
	g.p("MOVQ dst+0(FP), AX")
	g.p("MOVQ dstride+8(FP), R10")
	g.p("MOVQ w+16(FP), SI")
	g.p("MOVQ wstride+24(FP), DX")
	g.p("MOVQ x+32(FP), DI")
	g.p("MOVQ xstride+40(FP), CX")
	g.p("MOVQ nb+48(FP), BX")
	if k.setup != nil {
		k.setup(g, k)
	}
	unit := max(k.unit, 1)
	if k.run > 0 {
		// A row run: k.run rows one after another, each as the 1x1
		// kernel. R9 holds the row, CX the activations, R8 nb and R14
		// the rows left (the 1x1 body uses none of them).
		g.p("MOVQ SI, R9")
		g.p("MOVQ DI, CX")
		g.p("MOVQ BX, R8")
		g.p("MOVQ $%d, R14", k.run)
		fmt.Fprintf(&g.b, "row:\n")
		g.p("MOVQ R9, SI")
		g.p("MOVQ CX, DI")
		g.p("MOVQ R8, BX")
	} else {
		g.p("LEAQ (DX)(DX*2), R8")
		g.p("LEAQ (CX)(CX*2), R9")
	}
	if unit == 2 { // R12: an odd last block; R13: an odd last pair; BX: pairs of pairs
		g.p("MOVQ BX, R12")
		g.p("ANDQ $1, R12")
		g.p("SHRQ $1, BX")
		g.p("MOVQ BX, R13")
		g.p("ANDQ $1, R13")
		g.p("SHRQ $1, BX")
	}
	if unit == 4 { // R12: the blocks of a partial last quad; R13: an odd last quad; BX: pairs of quads
		g.p("MOVQ BX, R12")
		g.p("ANDQ $3, R12")
		g.p("SHRQ $2, BX")
		g.p("MOVQ BX, R13")
		g.p("ANDQ $1, R13")
		g.p("SHRQ $1, BX")
	}
	if k.R > 1 { // R14: the next tile's first row
		g.p("MOVQ DX, R14")
		g.p("IMULQ $%d, R14", k.R)
		g.p("ADDQ SI, R14")
	}
	acc := make([][]int, k.R*k.C)
	for i := range acc {
		for range k.nacc {
			r := g.reg()
			acc[i] = append(acc[i], r)
			if k.isa == "avx512" {
				g.p("VPXORD %s, %s, %s", Z(r), Z(r), Z(r))
			} else {
				g.p("VXORPS %s, %s, %s", Y(r), Y(r), Y(r))
			}
		}
	}
	g.p("TESTQ BX, BX")
	g.p("JZ done")
	fmt.Fprintf(&g.b, "loop:\n")
	// Multi-row tiles prefetch the same blocks of the next tile's rows,
	// one tile ahead: the hardware prefetchers lose track of R interleaved
	// streams whose rows share 4 KiB pages (measured: a 4-row Q6_K matvec
	// from DRAM ran at a third of the 1-row speed without this).
	// Prefetches do not fault, so running past the matrix is harmless.
	if k.R > 1 {
		for r := range k.R {
			for off := 0; off < unit*k.wbytes; off += 64 {
				g.p("PREFETCHT0 %s", addr("R14", "DX", "R8", r, off))
			}
		}
	}
	// Row runs prefetch their own stream rowPrefetch bytes ahead, one
	// line per 64 bytes the iteration consumes (past the row's end is the
	// next row's start): with compute between the loads, the out-of-order
	// window alone keeps too few lines in flight, and the hardware
	// prefetchers restart at each 4 KiB page. Measured on Zen 4 (1B Q4_0
	// decode, 1 thread): 19.1 tok/s without, 22.9 with PREFETCHT0 at 1 KiB,
	// 24.5-25.1 with PREFETCHNTA at 2-3 KiB, 24.1 at 4 KiB; 3 KiB also
	// suits the lighter Q8_0 kernel best.
	if k.run > 0 {
		per := unit * k.wbytes
		if unit == 2 || unit == 4 {
			per *= 2
		}
		for off := 0; off < per; off += 64 {
			g.p("PREFETCHNTA %d(SI)", rowPrefetch+off)
			if k.far {
				g.p("PREFETCHT2 %d(SI)", farPrefetch+off)
			}
		}
	}
	k.tail = false
	step := func() {
		k.body(g, k, acc)
		g.p("ADDQ $%d, SI", unit*k.wbytes)
		if k.R > 1 {
			g.p("ADDQ $%d, R14", unit*k.wbytes)
		}
		g.p("ADDQ $%d, DI", k.xbytes)
	}
	if unit == 2 || unit == 4 {
		// Two pairs (quads) per iteration into two accumulators, so that their
		// float chains overlap; an odd last pair and an odd last block
		// go to the first.
		k.accIdx = 0
		step()
		k.accIdx = 1
		step()
		k.accIdx = 0
	} else {
		step()
	}
	g.p("DECQ BX")
	g.p("JNZ loop")
	fmt.Fprintf(&g.b, "done:\n")
	if unit == 2 || unit == 4 {
		g.p("TESTQ R13, R13")
		g.p("JZ pairsdone")
		step()
		fmt.Fprintf(&g.b, "pairsdone:\n")
		g.p("TESTQ R12, R12")
		g.p("JZ sums")
		k.tail = true
		k.body(g, k, acc)
		fmt.Fprintf(&g.b, "sums:\n")
	}
	// Horizontal sums, the same sequence for every pair.
	t := g.reg()
	for c := range k.C {
		for r := range k.R {
			a := acc[c*k.R+r]
			if k.isa == "avx512" {
				for _, o := range a[1:] {
					g.p("VADDPS %s, %s, %s", Z(o), Z(a[0]), Z(a[0]))
				}
				g.p("VEXTRACTF64X4 $1, %s, %s", Z(a[0]), Y(t))
				g.p("VADDPS %s, %s, %s", Y(t), Y(a[0]), Y(a[0]))
			} else {
				for _, o := range a[1:] {
					g.p("VADDPS %s, %s, %s", Y(o), Y(a[0]), Y(a[0]))
				}
			}
			s := a[0]
			if k.isa == "avx512" {
				g.p("VEXTRACTF32X4 $1, %s, %s", Y(s), X(t))
			} else {
				g.p("VEXTRACTF128 $1, %s, %s", Y(s), X(t))
			}
			g.p("VADDPS %s, %s, %s", X(t), X(s), X(s))
			g.p("VMOVHLPS %s, %s, %s", X(s), X(s), X(t))
			g.p("VADDPS %s, %s, %s", X(t), X(s), X(s))
			g.p("VMOVSHDUP %s, %s", X(s), X(t))
			g.p("VADDSS %s, %s, %s", X(t), X(s), X(s))
			g.p("VMOVSS %s, %d(AX)", X(s), 4*r)
		}
		if k.run == 0 {
			g.p("ADDQ R10, AX")
		}
	}
	if k.run > 0 {
		g.p("ADDQ $4, AX")
		g.p("ADDQ DX, R9")
		g.p("DECQ R14")
		g.p("JNZ row")
	}
	g.p("VZEROUPPER")
	g.p("RET")
}

// accAt returns pair (r, c)'s accumulators.
func accAt(k *kernel, acc [][]int, r, c int) []int { return acc[c*k.R+r] }

// halfScale broadcasts the F16 at mem into all 8 float lanes of y.
func (g *gen) halfScale(mem string, y int) {
	g.p("VPBROADCASTW %s, %s", mem, X(y))
	g.p("VCVTPH2PS %s, %s", X(y), Y(y))
}

// scaleInto adds cvt(sumi) * (a*b) to the pair accumulator (the 32-value
// types' per-block float step); s is a scratch register.
func (g *gen) scaleInto(sumi, a, b, s, acc int) {
	g.p("VCVTDQ2PS %s, %s", Y(sumi), Y(sumi))
	g.p("VMULPS %s, %s, %s", Y(b), Y(a), Y(s))
	g.p("VFMADD231PS %s, %s, %s", Y(s), Y(sumi), Y(acc))
}

// Q8_0 x Q8_0: sign trick, |w| (unsigned) times y with w's sign.
func bodyQ8_0(g *gen, k *kernel, acc [][]int) {
	ys, dys := make([]int, k.C), make([]int, k.C)
	for c := range k.C {
		ys[c], dys[c] = g.reg(), g.reg()
		g.p("VMOVDQU %s, %s", xa(c, 2), Y(ys[c]))
		g.halfScale(xa(c, 0), dys[c])
	}
	aw, dw, t, s := g.reg(), g.reg(), g.reg(), g.reg()
	for r := range k.R {
		g.p("VPABSB %s, %s", wa(r, 2), Y(aw))
		g.halfScale(wa(r, 0), dw)
		for c := range k.C {
			g.p("VPSIGNB %s, %s, %s", wa(r, 2), Y(ys[c]), Y(t))
			if k.isa == "vnni" {
				g.p("VPXOR %s, %s, %s", Y(s), Y(s), Y(s))
				g.p("VPDPBUSD %s, %s, %s", Y(t), Y(aw), Y(s))
				g.scaleInto(s, dys[c], dw, t, accAt(k, acc, r, c)[0])
			} else {
				g.p("VPMADDUBSW %s, %s, %s", Y(t), Y(aw), Y(t))
				g.p("VPMADDWD ones16<>(SB), %s, %s", Y(t), Y(t))
				g.scaleInto(t, dys[c], dw, s, accAt(k, acc, r, c)[0])
			}
		}
	}
	g.free(ys...)
	g.free(dys...)
	g.free(aw, dw, t, s)
}

// layout32 describes the nibble types with 32-value blocks.
type layout32 struct {
	qs, qh int // offsets of the nibbles and of the 32 fifth bits (qh < 0: none)
	offset int // subtracted from each quant (8, 16), or 0 for the types with a min
	xqs    int // offset of the quants in the activation block (Q8_0: 2, Q8_1: 4)
}

var layouts32 = map[string]layout32{
	"q4_0": {2, -1, 8, 2}, "q5_0": {6, 2, 16, 2}, "q4_1": {4, -1, 0, 4}, "q5_1": {8, 4, 0, 4},
}

// Q4_0/Q5_0 x Q8_0 and Q4_1/Q5_1 x Q8_1: unsigned quants q times y. The
// offset types subtract offset*sum(y) per lane, computed once per activation
// block; the min types add m*s (Q8_1's s = dy*sum(y)) in lane 1 of the pair's
// accumulator.
func body32(g *gen, k *kernel, acc [][]int) {
	l := layouts32[k.typ]
	hasMin := l.offset == 0
	ms, dys := make([]int, k.C), make([]int, k.C)
	w, dw, t, s := g.reg(), g.reg(), g.reg(), g.reg()
	bc := -1
	if hasMin {
		bc = g.reg()
	}
	for c := range k.C {
		dys[c] = g.reg()
		if hasMin { // [dy, sy, 0, ...]
			g.p("VMOVD %s, %s", xa(c, 0), X(dys[c]))
			g.p("VCVTPH2PS %s, %s", X(dys[c]), X(dys[c]))
			continue
		}
		ms[c] = g.reg()
		g.halfScale(xa(c, 0), dys[c])
		g.p("VMOVDQU c%d<>(SB), %s", l.offset, Y(t))
		if k.isa == "vnni" { // ms = -offset*sum(y) in int32 lanes
			g.p("VPXOR %s, %s, %s", Y(s), Y(s), Y(s))
			g.p("VPDPBUSD %s, %s, %s", xa(c, l.xqs), Y(t), Y(s))
			g.p("VPXOR %s, %s, %s", Y(ms[c]), Y(ms[c]), Y(ms[c]))
			g.p("VPSUBD %s, %s, %s", Y(s), Y(ms[c]), Y(ms[c]))
		} else { // ms = offset*(y[2i]+y[2i+1]) in int16 lanes
			g.p("VPMADDUBSW %s, %s, %s", xa(c, l.xqs), Y(t), Y(ms[c]))
		}
	}
	for r := range k.R {
		g.p("VMOVDQU %s, %s", wa(r, l.qs), X(w))
		g.p("VPSRLW $4, %s, %s", X(w), X(t))
		g.p("VINSERTI128 $1, %s, %s, %s", X(t), Y(w), Y(w))
		g.p("VPAND mask0f<>(SB), %s, %s", Y(w), Y(w))
		if l.qh >= 0 { // bit j of qh to bit 4 of byte j
			g.p("VPBROADCASTD %s, %s", wa(r, l.qh), Y(t))
			g.p("VPSHUFB bitbyte<>(SB), %s, %s", Y(t), Y(t))
			g.p("VPOR bitsel<>(SB), %s, %s", Y(t), Y(t))
			g.p("VPCMPEQB allones<>(SB), %s, %s", Y(t), Y(t))
			g.p("VPAND mask10<>(SB), %s, %s", Y(t), Y(t))
			g.p("VPOR %s, %s, %s", Y(t), Y(w), Y(w))
		}
		if hasMin { // [dx, mx, 0, ...]
			g.p("VMOVD %s, %s", wa(r, 0), X(dw))
			g.p("VCVTPH2PS %s, %s", X(dw), X(dw))
		} else {
			g.halfScale(wa(r, 0), dw)
		}
		for c := range k.C {
			a := accAt(k, acc, r, c)[0]
			switch {
			case k.isa == "vnni" && hasMin:
				g.p("VPXOR %s, %s, %s", Y(t), Y(t), Y(t))
				g.p("VPDPBUSD %s, %s, %s", xa(c, l.xqs), Y(w), Y(t))
			case k.isa == "vnni":
				g.p("VMOVDQA %s, %s", Y(ms[c]), Y(t))
				g.p("VPDPBUSD %s, %s, %s", xa(c, l.xqs), Y(w), Y(t))
			default:
				g.p("VPMADDUBSW %s, %s, %s", xa(c, l.xqs), Y(w), Y(t))
				if !hasMin {
					g.p("VPSUBW %s, %s, %s", Y(ms[c]), Y(t), Y(t))
				}
				g.p("VPMADDWD ones16<>(SB), %s, %s", Y(t), Y(t))
			}
			if !hasMin {
				g.scaleInto(t, dys[c], dw, s, a)
				continue
			}
			// [dx*dy, mx*sy, 0, ...]: dx*dy*sumi in every lane, mx*sy in lane 1.
			g.p("VMULPS %s, %s, %s", Y(dys[c]), Y(dw), Y(s))
			g.p("VCVTDQ2PS %s, %s", Y(t), Y(t))
			g.p("VBROADCASTSS %s, %s", X(s), Y(bc))
			g.p("VFMADD231PS %s, %s, %s", Y(bc), Y(t), Y(a))
			g.p("VANDPS lane1<>(SB), %s, %s", Y(s), Y(s))
			g.p("VADDPS %s, %s, %s", Y(s), Y(a), Y(a))
		}
	}
	for c := range k.C {
		g.free(dys[c])
		if !hasMin {
			g.free(ms[c])
		}
	}
	g.free(w, dw, t, s)
	if hasMin {
		g.free(bc)
	}
}

// scaledDot adds (u8 w times y at mem, pairwise in int16) times the int16
// scales sc into the int32 lanes of sumi; t is scratch.
func (g *gen) scaledDot(k *kernel, mem string, w, sc, t, sumi int) {
	g.p("VPMADDUBSW %s, %s, %s", mem, Y(w), Y(t))
	if k.isa == "vnni" {
		g.p("VPDPWSSD %s, %s, %s", Y(sc), Y(t), Y(sumi))
	} else {
		g.p("VPMADDWD %s, %s, %s", Y(sc), Y(t), Y(t))
		g.p("VPADDD %s, %s, %s", Y(t), Y(sumi), Y(sumi))
	}
}

// Q4_K / Q5_K x Q8_K. Per super-block and row: unpack the 6-bit scales and
// mins (ggml's utmp shuffle, in general registers), subtract
// dmin*dy*sum(m_j*bsums), then add d*dy*sum_j sc_j*sum(q*y).
func bodyQK45(g *gen, k *kernel, acc [][]int) {
	five := k.typ == "q5_k"
	qs := 16
	if five {
		qs = 48
	}
	sc16, d := g.reg(), g.reg()
	sumis := make([]int, k.C)
	for r := range k.R {
		// Scales 0-7 then mins 0-7 as bytes in X(t).
		t, m, u := g.reg(), g.reg(), g.reg()
		g.p("MOVL %s, R11", wa(r, 4))
		g.p("ANDL $0x3f3f3f3f, R11")
		g.p("MOVL %s, R12", wa(r, 4))
		g.p("SHRL $6, R12")
		g.p("ANDL $0x03030303, R12")
		g.p("SHLL $4, R12")
		g.p("MOVL %s, R13", wa(r, 12))
		g.p("ANDL $0x0f0f0f0f, R13")
		g.p("ORL R13, R12")
		g.p("SHLQ $32, R12")
		g.p("ORQ R11, R12")
		g.p("VMOVQ R12, %s", X(t))
		g.p("MOVL %s, R11", wa(r, 8))
		g.p("ANDL $0x3f3f3f3f, R11")
		g.p("MOVL %s, R12", wa(r, 8))
		g.p("SHRL $6, R12")
		g.p("ANDL $0x03030303, R12")
		g.p("SHLL $4, R12")
		g.p("MOVL %s, R13", wa(r, 12))
		g.p("SHRL $4, R13")
		g.p("ANDL $0x0f0f0f0f, R13")
		g.p("ORL R13, R12")
		g.p("SHLQ $32, R12")
		g.p("ORQ R11, R12")
		g.p("VPINSRQ $1, R12, %s, %s", X(t), X(t))
		// sc16: the 8 scales as int16, in both 128-bit halves.
		g.p("VPMOVZXBW %s, %s", X(t), X(sc16))
		g.p("VINSERTI128 $1, %s, %s, %s", X(sc16), Y(sc16), Y(sc16))
		// m: each min twice as int16, to pair with the 16 bsums.
		g.p("VPSHUFB minsdup<>(SB), %s, %s", X(t), X(m))
		g.p("VPMOVZXBW %s, %s", X(m), Y(m))
		// d: [d, dmin] as floats.
		g.p("VMOVD %s, %s", wa(r, 0), X(d))
		g.p("VCVTPH2PS %s, %s", X(d), X(d))
		for c := range k.C {
			a := accAt(k, acc, r, c)[0]
			g.p("VBROADCASTSS %s, %s", xa(c, 0), X(t))
			g.p("VMULPS %s, %s, %s", X(t), X(d), X(t))
			g.p("VMOVSHDUP %s, %s", X(t), X(t))
			g.p("VBROADCASTSS %s, %s", X(t), Y(t))
			g.p("VPMADDWD %s, %s, %s", xa(c, 260), Y(m), Y(u))
			g.p("VCVTDQ2PS %s, %s", Y(u), Y(u))
			g.p("VFNMADD231PS %s, %s, %s", Y(t), Y(u), Y(a))
		}
		g.free(t, m, u)
		for c := range sumis {
			sumis[c] = g.reg()
			g.p("VPXOR %s, %s, %s", Y(sumis[c]), Y(sumis[c]), Y(sumis[c]))
		}
		q, lo, sc := g.reg(), g.reg(), g.reg()
		t = g.reg()
		for j := range 4 {
			g.p("VMOVDQU %s, %s", wa(r, qs+32*j), Y(q))
			for h := range 2 { // low nibbles: sub-block 2j, high: 2j+1
				if h == 0 {
					g.p("VPAND mask0f<>(SB), %s, %s", Y(q), Y(lo))
				} else {
					g.p("VPSRLW $4, %s, %s", Y(q), Y(lo))
					g.p("VPAND mask0f<>(SB), %s, %s", Y(lo), Y(lo))
				}
				if five { // bit 2j+h of qh to bit 4
					g.p("VMOVDQU %s, %s", wa(r, 16), Y(t))
					if b := 2*j + h; b < 4 {
						g.p("VPSLLW $%d, %s, %s", 4-b, Y(t), Y(t))
					} else if b > 4 {
						g.p("VPSRLW $%d, %s, %s", b-4, Y(t), Y(t))
					}
					g.p("VPAND mask10<>(SB), %s, %s", Y(t), Y(t))
					g.p("VPOR %s, %s, %s", Y(t), Y(lo), Y(lo))
				}
				g.p("VPSHUFB shufk4<>+%d(SB), %s, %s", 32*(2*j+h), Y(sc16), Y(sc))
				for c := range k.C {
					g.scaledDot(k, xa(c, 4+64*j+32*h), lo, sc, t, sumis[c])
				}
			}
		}
		g.free(q, lo, sc)
		for c := range k.C {
			a := accAt(k, acc, r, c)[0]
			g.p("VBROADCASTSS %s, %s", xa(c, 0), X(t))
			g.p("VMULPS %s, %s, %s", X(t), X(d), X(t))
			g.p("VBROADCASTSS %s, %s", X(t), Y(t))
			g.p("VCVTDQ2PS %s, %s", Y(sumis[c]), Y(sumis[c]))
			g.p("VFMADD231PS %s, %s, %s", Y(t), Y(sumis[c]), Y(a))
		}
		g.free(t)
		g.free(sumis...)
	}
	g.free(sc16, d)
}

// Q6_K x Q8_K: unsigned 6-bit q times y, minus 32*(y[2i]+y[2i+1]) in the
// int16 pairs, times the int8 scale of each 16 values. Subtracting the
// offset there (as ggml's AVX2 kernel does) keeps each int32 lane a sum of
// true terms below 2^24, so its float conversion is exact. The 32*sum(y)
// vectors are computed once per activation block into the stack frame.
func bodyQ6_K(g *gen, k *kernel, acc [][]int) {
	t, u := g.reg(), g.reg()
	g.p("VMOVDQU c32<>(SB), %s", Y(t))
	for c := range k.C {
		for j := range 8 {
			g.p("VPMADDUBSW %s, %s, %s", xa(c, 4+32*j), Y(t), Y(u))
			g.p("VMOVDQU %s, %d(SP)", Y(u), 256*c+32*j)
		}
	}
	g.free(t, u)
	d, scb := g.reg(), g.reg()
	sumis := make([]int, k.C)
	for r := range k.R {
		g.halfScale(wa(r, 208), d)
		g.p("VMOVDQU %s, %s", wa(r, 192), X(scb))
		for c := range k.C {
			sumis[c] = g.reg()
			g.p("VPXOR %s, %s, %s", Y(sumis[c]), Y(sumis[c]), Y(sumis[c]))
		}
		lo, sc, t := g.reg(), g.reg(), g.reg()
		for n := range 2 {
			for j := range 4 { // sub-block of 32 values 128n+32j
				g.p("VMOVDQU %s, %s", wa(r, 64*n+32*(j&1)), Y(lo))
				if j >= 2 {
					g.p("VPSRLW $4, %s, %s", Y(lo), Y(lo))
				}
				g.p("VPAND mask0f<>(SB), %s, %s", Y(lo), Y(lo))
				g.p("VMOVDQU %s, %s", wa(r, 128+32*n), Y(t))
				switch j { // bits 2j, 2j+1 of qh to bits 4, 5
				case 0:
					g.p("VPSLLW $4, %s, %s", Y(t), Y(t))
				case 1:
					g.p("VPSLLW $2, %s, %s", Y(t), Y(t))
				case 3:
					g.p("VPSRLW $2, %s, %s", Y(t), Y(t))
				}
				g.p("VPAND mask30<>(SB), %s, %s", Y(t), Y(t))
				g.p("VPOR %s, %s, %s", Y(t), Y(lo), Y(lo))
				g.p("VPSHUFB shuf6<>+%d(SB), %s, %s", 16*(4*n+j), X(scb), X(sc))
				g.p("VPMOVSXBW %s, %s", X(sc), Y(sc))
				for c := range k.C {
					g.p("VPMADDUBSW %s, %s, %s", xa(c, 4+128*n+32*j), Y(lo), Y(t))
					g.p("VPSUBW %d(SP), %s, %s", 256*c+32*(4*n+j), Y(t), Y(t))
					if k.isa == "vnni" {
						g.p("VPDPWSSD %s, %s, %s", Y(sc), Y(t), Y(sumis[c]))
					} else {
						g.p("VPMADDWD %s, %s, %s", Y(sc), Y(t), Y(t))
						g.p("VPADDD %s, %s, %s", Y(t), Y(sumis[c]), Y(sumis[c]))
					}
				}
			}
		}
		g.free(lo, sc)
		for c := range k.C {
			a := accAt(k, acc, r, c)[0]
			g.p("VBROADCASTSS %s, %s", xa(c, 0), Y(t))
			g.p("VMULPS %s, %s, %s", Y(t), Y(d), Y(t))
			g.p("VCVTDQ2PS %s, %s", Y(sumis[c]), Y(sumis[c]))
			g.p("VFMADD231PS %s, %s, %s", Y(t), Y(sumis[c]), Y(a))
		}
		g.free(t)
		g.free(sumis...)
	}
	g.free(d, scb)
}

// F32: 16 values per step, two accumulators per pair.
func bodyF32(g *gen, k *kernel, acc [][]int) {
	xs := make([]int, 2*k.C)
	for c := range k.C {
		xs[2*c], xs[2*c+1] = g.reg(), g.reg()
		g.p("VMOVUPS %s, %s", xa(c, 0), Y(xs[2*c]))
		g.p("VMOVUPS %s, %s", xa(c, 32), Y(xs[2*c+1]))
	}
	for r := range k.R {
		for c := range k.C {
			a := accAt(k, acc, r, c)
			g.p("VFMADD231PS %s, %s, %s", wa(r, 0), Y(xs[2*c]), Y(a[0]))
			g.p("VFMADD231PS %s, %s, %s", wa(r, 32), Y(xs[2*c+1]), Y(a[1]))
		}
	}
	g.free(xs...)
}

// F16: as F32, converting both sides with F16C.
func bodyF16(g *gen, k *kernel, acc [][]int) {
	xs := make([]int, 2*k.C)
	for c := range k.C {
		xs[2*c], xs[2*c+1] = g.reg(), g.reg()
		g.p("VCVTPH2PS %s, %s", xa(c, 0), Y(xs[2*c]))
		g.p("VCVTPH2PS %s, %s", xa(c, 16), Y(xs[2*c+1]))
	}
	w0, w1 := g.reg(), g.reg()
	for r := range k.R {
		g.p("VCVTPH2PS %s, %s", wa(r, 0), Y(w0))
		g.p("VCVTPH2PS %s, %s", wa(r, 16), Y(w1))
		for c := range k.C {
			a := accAt(k, acc, r, c)
			g.p("VFMADD231PS %s, %s, %s", Y(w0), Y(xs[2*c]), Y(a[0]))
			g.p("VFMADD231PS %s, %s, %s", Y(w1), Y(xs[2*c+1]), Y(a[1]))
		}
	}
	g.free(xs...)
	g.free(w0, w1)
}

// BF16: as F16, widening by shifting the 16 bits into the top of a float32.
func bodyBF16(g *gen, k *kernel, acc [][]int) {
	xs := make([]int, 2*k.C)
	widen := func(mem string, y int) {
		g.p("VPMOVZXWD %s, %s", mem, Y(y))
		g.p("VPSLLD $16, %s, %s", Y(y), Y(y))
	}
	for c := range k.C {
		xs[2*c], xs[2*c+1] = g.reg(), g.reg()
		widen(xa(c, 0), xs[2*c])
		widen(xa(c, 16), xs[2*c+1])
	}
	w0, w1 := g.reg(), g.reg()
	for r := range k.R {
		widen(wa(r, 0), w0)
		widen(wa(r, 16), w1)
		for c := range k.C {
			a := accAt(k, acc, r, c)
			g.p("VFMADD231PS %s, %s, %s", Y(w0), Y(xs[2*c]), Y(a[0]))
			g.p("VFMADD231PS %s, %s, %s", Y(w1), Y(xs[2*c+1]), Y(a[1]))
		}
	}
	g.free(xs...)
	g.free(w0, w1)
}

// The avx512 kernels (AVX-512 F/BW/VL, VNNI, VBMI and GFNI on zmm
// registers) take activations prepared by the Go side (vecdot_prep.go):
// rearranged to the weights' value order, with the activation-only terms
// (offsets times sum(y), float scales) precomputed once per row instead of
// once per weight row. Their accumulators are zmm, 16 float lanes.
//
// Q8_0 x Q8_0 runs two blocks per iteration: weight values in natural
// order as unsigned bytes (w+128), times y with VPDPBUSD into int32 lanes
// that start at -128*sum(y) over their 4 values (prepared), so each lane holds the exact integer
// dot of its 4 values; then lanes 0-7 (first block) and 8-15 (second) are
// scaled by dw*dy (two products in an xmm, spread over the lanes) in float
// and accumulated, two pairs per iteration into two accumulators. The
// prepared row has 144 bytes per block pair: y (64), the lane offsets (16
// int32), the two dy (float32, then padding); an odd last block pairs with
// zeros.
const (
	z32Y, z32Off, z32Dy, z32Pair = 0, 64, 128, 144
)

// kreg reserves a register for setup's constants.
func (g *gen) kreg(k *kernel, load string) int {
	r := g.reg()
	k.regs = append(k.regs, r)
	g.p("VMOVDQU64 %s, %s", load, Z(r))
	return r
}

func setupZ32(g *gen, k *kernel) {
	k.regs = nil
	pair, one := min(2*k.wbytes, 64), k.wbytes
	g.p("MOVQ $0x%x, R11", uint64(1)<<pair-1)
	g.p("KMOVQ R11, K1")
	g.p("MOVQ $0x%x, R11", uint64(1)<<one-1)
	g.p("KMOVQ R11, K2")
	g.kreg(k, fmt.Sprintf("dwidx_%s<>(SB)", k.typ))
	g.kreg(k, "c80x64<>(SB)")
	g.kreg(k, "expand2<>(SB)") // last
}

func bodyZ32(g *gen, k *kernel, acc [][]int) {
	w, dw, raw := g.reg(), g.reg(), g.reg()
	mask := "K1"
	if k.tail {
		mask = "K2"
	}
	for r := range k.R {
		g.p("VMOVDQU8.Z %s, %s, %s", wa(r, 0), mask, Z(raw))
		g.p("VMOVDQU64 %s, %s", wa(r, 2), Y(w))
		if !k.tail {
			g.p("VINSERTI64X4 $1, %s, %s, %s", wa(r, 36), Z(w), Z(w))
		}
		g.p("VPXORD %s, %s, %s", Z(k.regs[1]), Z(w), Z(w))
		g.p("VPERMW %s, %s, %s", Z(raw), Z(k.regs[0]), Z(dw))
		g.p("VCVTPH2PS %s, %s", X(dw), X(dw))
		for c := range k.C {
			t, s := g.reg(), g.reg()
			g.p("VMOVDQU32 %s, %s", xa(c, z32Off), Z(t))
			g.p("VPDPBUSD %s, %s, %s", xa(c, z32Y), Z(w), Z(t))
			g.p("VMULPS %s, %s, %s", xa(c, z32Dy), X(dw), X(s))
			g.p("VPERMPS %s, %s, %s", Z(s), Z(k.regs[len(k.regs)-1]), Z(s))
			g.p("VCVTDQ2PS %s, %s", Z(t), Z(t))
			g.p("VFMADD231PS %s, %s, %s", Z(s), Z(t), Z(accAt(k, acc, r, c)[k.accIdx]))
			g.free(t, s)
		}
	}
	g.free(w, dw, raw)
}

// Q4_0 and Q5_0 x Q8_0, avx512, run four blocks (a quad) per step: the 64 bytes of
// qs of the quad (one 128-bit lane per block, gathered from two 36-byte
// loads with one VPERMT2B), their low nibbles (values 0-15 of each block)
// and high nibbles (16-31) times y prepared in the same order with two
// VPDPBUSD into one set of int32 lanes (4 per block, starting at -8*sum(y)
// over their 8 values, K = 8, 16; Q5_0's fifth bits add 16 to the values
// under masks built from its qh words, gathered with the dw), so a quad's
// float work (convert, scale, FMA) is one
// zmm each; the four dw are spread 4 times each as F16 by one VPERMI2W and
// widened with one VCVTPH2PS, times the prepared dy (spread the same way).
// Two quads per iteration into two accumulators; a partial last quad
// (1-3 blocks) loads only its blocks and the prepared row has zeros after
// them. The prepared quad (zq40Quad bytes): y values 0-15 of each block
// (64), 16-31 (64), the lane offsets (16 int32), dy (16 float32).
const (
	zq40Y1, zq40Y2, zq40Off, zq40Dy, zq40Quad = 0, 64, 128, 192, 256
)

func setupZQ40(g *gen, k *kernel) {
	k.regs = nil
	g.p("MOVQ $0x%x, R11", uint64(1)<<(2*k.wbytes)-1)
	g.p("KMOVQ R11, K1")
	g.p("MOVQ BX, R11") // the partial quad's masks, K2 and K3
	g.p("ANDQ $3, R11")
	g.p("LEAQ quadtail_%s<>(SB), R12", k.typ)
	g.p("KMOVQ (R12)(R11*8), K2")
	g.p("KMOVQ 32(R12)(R11*8), K3")
	g.kreg(k, fmt.Sprintf("quadq_%s<>(SB)", k.typ))
	g.kreg(k, fmt.Sprintf("quadw_%s<>(SB)", k.typ))
	g.kreg(k, "lonib<>(SB)")
	g.kreg(k, "hinib<>(SB)")
	if k.typ == "q5_0" {
		g.kreg(k, "c16x64<>(SB)")
	}
}

func bodyZQ40(g *gen, k *kernel, acc [][]int) {
	ra, rb, w1, w2, dw := g.reg(), g.reg(), g.reg(), g.reg(), g.reg()
	ma, mb := "K1", "K1"
	if k.tail {
		ma, mb = "K2", "K3"
	}
	for r := range k.R {
		g.p("VMOVDQU8.Z %s, %s, %s", wa(r, 0), ma, Z(ra))
		g.p("VMOVDQU8.Z %s, %s, %s", wa(r, 2*k.wbytes), mb, Z(rb))
		g.p("VMOVDQA64 %s, %s", Z(k.regs[1]), Z(dw))
		g.p("VPERMI2W %s, %s, %s", Z(rb), Z(ra), Z(dw))
		g.p("VPERMT2B %s, %s, %s", Z(rb), Z(k.regs[0]), Z(ra))
		g.p("VGF2P8AFFINEQB $0, %s, %s, %s", Z(k.regs[2]), Z(ra), Z(w1))
		g.p("VGF2P8AFFINEQB $0, %s, %s, %s", Z(k.regs[3]), Z(ra), Z(w2))
		if k.typ == "q5_0" { // words 16-19: the low halves of the qh, 20-23 the high
			q := g.reg()
			g.p("VEXTRACTI32X4 $2, %s, %s", Z(dw), X(q))
			g.p("VMOVQ %s, R11", X(q))
			g.p("KMOVQ R11, K4")
			g.p("VPEXTRQ $1, %s, R11", X(q))
			g.p("KMOVQ R11, K5")
			g.p("VPADDB %s, %s, K4, %s", Z(k.regs[4]), Z(w1), Z(w1))
			g.p("VPADDB %s, %s, K5, %s", Z(k.regs[4]), Z(w2), Z(w2))
			g.free(q)
		}
		g.p("VCVTPH2PS %s, %s", Y(dw), Z(dw))
		for c := range k.C {
			t, s := g.reg(), g.reg()
			g.p("VMOVDQU32 %s, %s", xa(c, zq40Off), Z(t))
			g.p("VPDPBUSD %s, %s, %s", xa(c, zq40Y1), Z(w1), Z(t))
			g.p("VPDPBUSD %s, %s, %s", xa(c, zq40Y2), Z(w2), Z(t))
			g.p("VMULPS %s, %s, %s", xa(c, zq40Dy), Z(dw), Z(s))
			g.p("VCVTDQ2PS %s, %s", Z(t), Z(t))
			g.p("VFMADD231PS %s, %s, %s", Z(s), Z(t), Z(accAt(k, acc, r, c)[k.accIdx]))
			g.free(t, s)
		}
	}
	g.free(ra, rb, w1, w2, dw)
}

// Q4_K x Q8_K, avx512: per super-block and row, the low and high nibbles
// of each 64 bytes of qs (sub-blocks 2j, 2j+2 and 2j+1, 2j+3) times y
// (prepared in that order) with VPMADDUBSW, times the sub-block scales
// with VPDPWSSD into int32 lanes; the mins term as the avx2 kernels do, in
// a second (ymm) accumulator. The prepared super-block (320 bytes): d as
// float32 at 0, the 16 bsums at 4, y at 64.
const (
	zqkD, zqkBsums, zqkY, zq4kBlock = 0, 4, 64, 320
)

func setupZQ4K(g *gen, k *kernel) {
	k.regs = nil
	for u := range 4 {
		g.kreg(k, fmt.Sprintf("q4kidx<>+%d(SB)", 64*u))
	}
}

func bodyZQ4K(g *gen, k *kernel, acc [][]int) {
	sc16, d := g.reg(), g.reg()
	sumis := make([]int, k.C)
	for r := range k.R {
		t, m, u := g.reg(), g.reg(), g.reg()
		g.scalesK4(r, t)
		g.p("VPMOVZXBW %s, %s", X(t), Y(sc16))
		g.p("VPSHUFB minsdup<>(SB), %s, %s", X(t), X(m))
		g.p("VPMOVZXBW %s, %s", X(m), Y(m))
		g.p("VMOVD %s, %s", wa(r, 0), X(d))
		g.p("VCVTPH2PS %s, %s", X(d), X(d))
		for c := range k.C {
			a := accAt(k, acc, r, c)[1]
			g.p("VBROADCASTSS %s, %s", xa(c, zqkD), X(t))
			g.p("VMULPS %s, %s, %s", X(t), X(d), X(t))
			g.p("VMOVSHDUP %s, %s", X(t), X(t))
			g.p("VBROADCASTSS %s, %s", X(t), Y(t))
			g.p("VPMADDWD %s, %s, %s", xa(c, zqkBsums), Y(m), Y(u))
			g.p("VCVTDQ2PS %s, %s", Y(u), Y(u))
			g.p("VFNMADD231PS %s, %s, %s", Y(t), Y(u), Y(a))
		}
		g.free(t, m, u)
		for c := range sumis {
			sumis[c] = g.reg()
			g.p("VPXORD %s, %s, %s", Z(sumis[c]), Z(sumis[c]), Z(sumis[c]))
		}
		q, v, sc, t2 := g.reg(), g.reg(), g.reg(), g.reg()
		for u := range 4 { // u: sub-blocks {0,2}, {1,3}, {4,6}, {5,7}
			if u%2 == 0 {
				g.p("VMOVDQU64 %s, %s", wa(r, 16+64*(u/2)), Z(q))
				g.p("VPANDD mask0fx64<>(SB), %s, %s", Z(q), Z(v))
			} else {
				g.p("VGF2P8AFFINEQB $0, hinib<>(SB), %s, %s", Z(q), Z(v))
			}
			g.p("VPERMW %s, %s, %s", Z(sc16), Z(k.regs[u]), Z(sc))
			for c := range k.C {
				g.p("VPMADDUBSW %s, %s, %s", xa(c, zqkY+64*u), Z(v), Z(t2))
				g.p("VPDPWSSD %s, %s, %s", Z(sc), Z(t2), Z(sumis[c]))
			}
		}
		g.free(q, v, sc)
		for c := range k.C {
			a := accAt(k, acc, r, c)[0]
			g.p("VBROADCASTSS %s, %s", xa(c, zqkD), X(t2))
			g.p("VMULPS %s, %s, %s", X(t2), X(d), X(t2))
			g.p("VBROADCASTSS %s, %s", X(t2), Z(t2))
			g.p("VCVTDQ2PS %s, %s", Z(sumis[c]), Z(sumis[c]))
			g.p("VFMADD231PS %s, %s, %s", Z(t2), Z(sumis[c]), Z(a))
		}
		g.free(t2)
		g.free(sumis...)
	}
	g.free(sc16, d)
}

// scalesK4 unpacks row r's 6-bit scales and mins (ggml's utmp shuffle) into
// X(t): scales 0-7 then mins 0-7 as bytes.
func (g *gen) scalesK4(r, t int) {
	g.p("MOVL %s, R11", wa(r, 4))
	g.p("ANDL $0x3f3f3f3f, R11")
	g.p("MOVL %s, R12", wa(r, 4))
	g.p("SHRL $6, R12")
	g.p("ANDL $0x03030303, R12")
	g.p("SHLL $4, R12")
	g.p("MOVL %s, R13", wa(r, 12))
	g.p("ANDL $0x0f0f0f0f, R13")
	g.p("ORL R13, R12")
	g.p("SHLQ $32, R12")
	g.p("ORQ R11, R12")
	g.p("VMOVQ R12, %s", X(t))
	g.p("MOVL %s, R11", wa(r, 8))
	g.p("ANDL $0x3f3f3f3f, R11")
	g.p("MOVL %s, R12", wa(r, 8))
	g.p("SHRL $6, R12")
	g.p("ANDL $0x03030303, R12")
	g.p("SHLL $4, R12")
	g.p("MOVL %s, R13", wa(r, 12))
	g.p("SHRL $4, R13")
	g.p("ANDL $0x0f0f0f0f, R13")
	g.p("ORL R13, R12")
	g.p("SHLQ $32, R12")
	g.p("ORQ R11, R12")
	g.p("VPINSRQ $1, R12, %s, %s", X(t), X(t))
}

// Q6_K x Q8_K, avx512: per half of the super-block, the 64 bytes of ql
// give values 0-63 (low nibbles) and 64-127 (high), each with two bits of
// qh (GF2P8AFFINEQB picks and places them); VPMADDUBSW with y, minus
// 32*(y[2i]+y[2i+1]) (prepared), times the int8 scale of each 16 values
// with VPDPWSSD. Prepared super-block (576 bytes): d at 0, y at 64, the
// 128 int16 offsets at 320.
const (
	zq6Y, zq6Off, zq6kBlock = 64, 320, 576
)

func setupZQ6K(g *gen, k *kernel) {
	k.regs = nil
	for u := range 4 {
		g.kreg(k, fmt.Sprintf("q6kidx<>+%d(SB)", 64*u))
	}
}

func bodyZQ6K(g *gen, k *kernel, acc [][]int) {
	d, sc16 := g.reg(), g.reg()
	sumis := make([]int, k.C)
	for r := range k.R {
		g.p("VPBROADCASTW %s, %s", wa(r, 208), Y(d))
		g.p("VCVTPH2PS %s, %s", Y(d), Z(d))
		g.p("VPMOVSXBW %s, %s", wa(r, 192), Y(sc16))
		for c := range sumis {
			sumis[c] = g.reg()
			g.p("VPXORD %s, %s, %s", Z(sumis[c]), Z(sumis[c]), Z(sumis[c]))
		}
		ql, qh, v, t, sc := g.reg(), g.reg(), g.reg(), g.reg(), g.reg()
		for h := range 2 {
			g.p("VMOVDQU64 %s, %s", wa(r, 64*h), Z(ql))
			g.p("VBROADCASTI64X4 %s, %s", wa(r, 128+32*h), Z(qh))
			for part := range 2 { // values 128h + 64part + [0, 64)
				if part == 0 {
					g.p("VPANDD mask0fx64<>(SB), %s, %s", Z(ql), Z(v))
					g.p("VGF2P8AFFINEQB $0, q6hlo<>(SB), %s, %s", Z(qh), Z(t))
				} else {
					g.p("VGF2P8AFFINEQB $0, hinib<>(SB), %s, %s", Z(ql), Z(v))
					g.p("VGF2P8AFFINEQB $0, q6hhi<>(SB), %s, %s", Z(qh), Z(t))
				}
				g.p("VPORD %s, %s, %s", Z(t), Z(v), Z(v))
				g.p("VPERMW %s, %s, %s", Z(sc16), Z(k.regs[2*h+part]), Z(sc))
				for c := range k.C {
					off := 128*h + 64*part
					g.p("VPMADDUBSW %s, %s, %s", xa(c, zq6Y+off), Z(v), Z(t))
					g.p("VPSUBW %s, %s, %s", xa(c, zq6Off+off), Z(t), Z(t))
					g.p("VPDPWSSD %s, %s, %s", Z(sc), Z(t), Z(sumis[c]))
				}
			}
		}
		g.free(ql, qh, v, sc)
		for c := range k.C {
			a := accAt(k, acc, r, c)[0]
			g.p("VBROADCASTSS %s, %s", xa(c, 0), Z(t))
			g.p("VMULPS %s, %s, %s", Z(t), Z(d), Z(t))
			g.p("VCVTDQ2PS %s, %s", Z(sumis[c]), Z(sumis[c]))
			g.p("VFMADD231PS %s, %s, %s", Z(t), Z(sumis[c]), Z(a))
		}
		g.free(t)
		g.free(sumis...)
	}
	g.free(d, sc16)
}

// affine is the GF2P8AFFINEQB matrix (one qword) that moves input bit
// in[o] to output bit o for each o in in (other output bits 0).
func affine(in map[int]int) uint64 {
	var q uint64
	for o, i := range in {
		q |= uint64(1) << i << (8 * (7 - o))
	}
	return q
}

// preps writes the activation preparations of the avx512 kernels (see
// vecdot_prep_amd64.go for the layouts), one function per layout.
func (g *gen) preps() {
	// func prepZ32(dst, xq *byte, nb int, k int)
	g.b.WriteString(`
// func prepZ32(dst *byte, xq *byte, nb int, k int)
TEXT ·prepZ32(SB), NOSPLIT, $0-32
`)
	g.p("MOVQ dst+0(FP), DI")
	g.p("MOVQ xq+8(FP), SI")
	g.p("MOVQ nb+16(FP), BX")
	g.p("MOVQ k+24(FP), AX")
	g.p("VPBROADCASTB AX, Y15")
	g.p("VPXOR Y14, Y14, Y14")
	block := func(h int) {
		g.p("VMOVDQU 2(SI), Y0")
		g.p("VMOVDQU Y0, %d(DI)", 32*h)
		g.p("VPXOR Y1, Y1, Y1")
		g.p("VPDPBUSD Y0, Y15, Y1")
		g.p("VPSUBD Y1, Y14, Y1")
		g.p("VMOVDQU Y1, %d(DI)", 64+32*h)
		g.p("VPBROADCASTW 0(SI), X2")
		g.p("VCVTPH2PS X2, X2")
		g.p("VMOVSS X2, %d(DI)", z32Dy+4*h)
		g.p("ADDQ $34, SI")
	}
	g.p("MOVQ BX, CX")
	g.p("SHRQ $1, CX")
	g.p("JZ tail")
	fmt.Fprintf(&g.b, "pair:\n")
	block(0)
	block(1)
	g.p("MOVQ $0, %d(DI)", z32Dy+8) // the kernels read dy as 4 floats
	g.p("ADDQ $%d, DI", z32Pair)
	g.p("DECQ CX")
	g.p("JNZ pair")
	fmt.Fprintf(&g.b, "tail:\n")
	g.p("TESTQ $1, BX")
	g.p("JZ done")
	block(0)
	g.p("VMOVDQU Y14, 32(DI)")
	g.p("VMOVDQU Y14, 96(DI)")
	g.p("MOVL $0, %d(DI)", z32Dy+4)
	g.p("MOVQ $0, %d(DI)", z32Dy+8)
	fmt.Fprintf(&g.b, "done:\n")
	g.p("VZEROUPPER")
	g.p("RET")

	// func prepQuad(dst, xq *byte, nb int, k int): the zq40 layout, one
	// block at a time; block i%4 of a quad goes to 16*(i%4) in each of its
	// four parts. The Go side zeroes a partial last quad first.
	g.b.WriteString(`
// func prepQuad(dst *byte, xq *byte, nb int, k int)
TEXT ·prepQuad(SB), NOSPLIT, $0-32
`)
	g.p("MOVQ dst+0(FP), DI")
	g.p("MOVQ xq+8(FP), SI")
	g.p("MOVQ nb+16(FP), BX")
	g.p("MOVQ k+24(FP), AX")
	g.p("VPBROADCASTB AX, Y15")
	g.p("VPXOR X14, X14, X14")
	g.p("XORQ CX, CX") // the block's place in its quad
	g.p("TESTQ BX, BX")
	g.p("JZ done")
	fmt.Fprintf(&g.b, "block:\n")
	g.p("VMOVDQU 2(SI), Y0")
	g.p("VMOVDQU X0, %d(DI)", zq40Y1)
	g.p("VEXTRACTI128 $1, Y0, %d(DI)", zq40Y2)
	g.p("VPXOR Y1, Y1, Y1")
	g.p("VPDPBUSD Y0, Y15, Y1")
	g.p("VEXTRACTI128 $1, Y1, X2")
	g.p("VPADDD X2, X1, X1")
	g.p("VPSUBD X1, X14, X1")
	g.p("VMOVDQU X1, %d(DI)", zq40Off)
	g.p("VPBROADCASTW 0(SI), X2")
	g.p("VCVTPH2PS X2, X2")
	g.p("VMOVUPS X2, %d(DI)", zq40Dy)
	g.p("ADDQ $34, SI")
	g.p("ADDQ $16, DI")
	g.p("INCQ CX")
	g.p("CMPQ CX, $4")
	g.p("JNE next")
	g.p("XORQ CX, CX")
	g.p("ADDQ $%d, DI", zq40Quad-64)
	fmt.Fprintf(&g.b, "next:\n")
	g.p("DECQ BX")
	g.p("JNZ block")
	fmt.Fprintf(&g.b, "done:\n")
	g.p("VZEROUPPER")
	g.p("RET")

	// func prepQ4K(dst, xq *byte, nb int)
	g.b.WriteString(`
// func prepQ4K(dst *byte, xq *byte, nb int)
TEXT ·prepQ4K(SB), NOSPLIT, $0-24
`)
	g.p("MOVQ dst+0(FP), DI")
	g.p("MOVQ xq+8(FP), SI")
	g.p("MOVQ nb+16(FP), BX")
	g.p("TESTQ BX, BX")
	g.p("JZ done")
	fmt.Fprintf(&g.b, "loop:\n")
	g.p("MOVL 0(SI), AX")
	g.p("MOVL AX, %d(DI)", zqkD)
	g.p("VMOVDQU 260(SI), Y0")
	g.p("VMOVDQU Y0, %d(DI)", zqkBsums)
	for i, sb := range []int{0, 2, 1, 3, 4, 6, 5, 7} {
		g.p("VMOVDQU %d(SI), Y%d", 4+32*sb, i%8)
		g.p("VMOVDQU Y%d, %d(DI)", i%8, zqkY+32*i)
	}
	g.p("ADDQ $292, SI")
	g.p("ADDQ $%d, DI", zq4kBlock)
	g.p("DECQ BX")
	g.p("JNZ loop")
	fmt.Fprintf(&g.b, "done:\n")
	g.p("VZEROUPPER")
	g.p("RET")

	// func prepQ6K(dst, xq *byte, nb int)
	g.b.WriteString(`
// func prepQ6K(dst *byte, xq *byte, nb int)
TEXT ·prepQ6K(SB), NOSPLIT, $0-24
`)
	g.p("MOVQ dst+0(FP), DI")
	g.p("MOVQ xq+8(FP), SI")
	g.p("MOVQ nb+16(FP), BX")
	g.p("VMOVDQU c32<>(SB), Y15")
	g.p("TESTQ BX, BX")
	g.p("JZ done")
	fmt.Fprintf(&g.b, "loop:\n")
	g.p("MOVL 0(SI), AX")
	g.p("MOVL AX, 0(DI)")
	for j := range 8 {
		g.p("VMOVDQU %d(SI), Y%d", 4+32*j, j)
		g.p("VMOVDQU Y%d, %d(DI)", j, zq6Y+32*j)
		g.p("VPMADDUBSW Y%d, Y15, Y%d", j, j)
		g.p("VMOVDQU Y%d, %d(DI)", j, zq6Off+32*j)
	}
	g.p("ADDQ $292, SI")
	g.p("ADDQ $%d, DI", zq6kBlock)
	g.p("DECQ BX")
	g.p("JNZ loop")
	fmt.Fprintf(&g.b, "done:\n")
	g.p("VZEROUPPER")
	g.p("RET")
}

type typeSpec struct {
	typ            string
	wbytes, xbytes int
	nacc           int
	body           func(*gen, *kernel, [][]int)
	isas           []string
	R, C           int // the MatMulQ tile
	setup          func(*gen, *kernel)
	unit           int
}

var specs = []typeSpec{
	{"q8_0", 34, 34, 1, bodyQ8_0, []string{"avx2", "vnni"}, 4, 2, nil, 0},
	{"q4_0", 18, 34, 1, body32, []string{"avx2", "vnni"}, 4, 2, nil, 0},
	{"q5_0", 22, 34, 1, body32, []string{"avx2", "vnni"}, 4, 2, nil, 0},
	{"q4_1", 20, 36, 1, body32, []string{"avx2", "vnni"}, 4, 2, nil, 0},
	{"q5_1", 24, 36, 1, body32, []string{"avx2", "vnni"}, 4, 2, nil, 0},
	{"q4_k", 144, 292, 1, bodyQK45, []string{"avx2", "vnni"}, 1, 4, nil, 0},
	{"q5_k", 176, 292, 1, bodyQK45, []string{"avx2", "vnni"}, 1, 4, nil, 0},
	{"q6_k", 210, 292, 1, bodyQ6_K, []string{"avx2", "vnni"}, 2, 3, nil, 0},
	{"f32", 64, 64, 2, bodyF32, []string{"avx2"}, 3, 2, nil, 0},
	{"f16", 32, 32, 2, bodyF16, []string{"avx2"}, 2, 2, nil, 0},
	{"bf16", 32, 32, 2, bodyBF16, []string{"avx2"}, 2, 2, nil, 0},
	{"q8_0", 34, z32Pair, 2, bodyZ32, []string{"avx512"}, 4, 2, setupZ32, 2},
	{"q4_0", 18, zq40Quad, 2, bodyZQ40, []string{"avx512"}, 4, 2, setupZQ40, 4},
	{"q5_0", 22, zq40Quad, 2, bodyZQ40, []string{"avx512"}, 4, 2, setupZQ40, 4},
	{"q4_k", 144, zq4kBlock, 2, bodyZQ4K, []string{"avx512"}, 1, 4, setupZQ4K, 0},
	{"q6_k", 210, zq6kBlock, 1, bodyZQ6K, []string{"avx512"}, 2, 3, setupZQ6K, 0},
}

// rowPrefetch is how far ahead the row runs prefetch their weights.
const rowPrefetch = 3072

// farPrefetch is how far ahead the far row runs (suffix _f16, for long
// rows) also prefetch their weights into L2. Once a prepared activation row
// passes ~12 KB it shares L1 with the weight stream badly and the near
// prefetches alone stop covering DRAM's latency: the 1B shape's down
// projection (rows of 8192 values) read 14 GB/s at 1 thread where the same
// bytes as 2048-value rows read 24; with this second prefetch, 22-24 (2-8
// KiB tried, 8 best). Short rows keep the plain run: the extra prefetches
// cost the compute-bound Q4_K kernel ~5% there.
const farPrefetch = 8192

// mvRun is the rows of the MatVecQ kernels (row runs; fewer rows go to 1x1).
const mvRun = 16

// shapes are the tiles the Go drivers use: 1x1 (DotQ), RxC, Rx1, 1xC for
// MatMulQ and its edges; {mvRun, 0} stands for the MatVecQ row run and
// {mvRun, -1} for its far-prefetching variant (avx512 only).
func shapes(s typeSpec, isa string) [][2]int {
	out := [][2]int{{1, 1}, {mvRun, 0}}
	if isa == "avx512" {
		out = append(out, [2]int{mvRun, -1})
	}
	for _, sh := range [][2]int{{s.R, s.C}, {s.R, 1}, {1, s.C}} {
		dup := false
		for _, o := range out {
			dup = dup || o == sh
		}
		if !dup {
			out = append(out, sh)
		}
	}
	return out
}

func main() {
	dir := "." // go run vecdot_gen.go [dir]
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	g := &gen{}
	g.b.WriteString("// Code generated by vecdot_gen.go; DO NOT EDIT.\n\n#include \"textflag.h\"\n")
	var decls, ids, cases strings.Builder
	for _, s := range specs {
		for _, isa := range s.isas {
			for _, sh := range shapes(s, isa) {
				k := &kernel{typ: s.typ, isa: isa, R: sh[0], C: sh[1], wbytes: s.wbytes, xbytes: s.xbytes, body: s.body, nacc: s.nacc,
					setup: s.setup, unit: s.unit}
				if sh[1] == 0 {
					k.R, k.C, k.run = 1, 1, sh[0]
				}
				if sh[1] == -1 {
					k.R, k.C, k.run, k.far = 1, 1, sh[0], true
				}
				g.kernel(k)
				fmt.Fprintf(&decls, "\n//go:noescape\nfunc %s(dst *float32, dstride uintptr, w *byte, wstride uintptr, x *byte, xstride uintptr, nb int)\n", k.name())
				fmt.Fprintf(&ids, "\tt_%s\n", k.name())
				fmt.Fprintf(&cases, "\tcase t_%s:\n\t\t%s(dst, dstride, w, wstride, x, xstride, nb)\n", k.name(), k.name())
			}
		}
	}
	g.preps()
	decls.WriteString("\n//go:noescape\nfunc prepZ32(dst *byte, xq *byte, nb int, k int)\n")
	decls.WriteString("\n//go:noescape\nfunc prepQuad(dst *byte, xq *byte, nb int, k int)\n")
	decls.WriteString("\n//go:noescape\nfunc prepQ4K(dst *byte, xq *byte, nb int)\n")
	decls.WriteString("\n//go:noescape\nfunc prepQ6K(dst *byte, xq *byte, nb int)\n")
	data := func(name string, bs []byte) {
		fmt.Fprintf(&g.b, "\n")
		for i := 0; i < len(bs); i += 8 {
			var v uint64
			for j := 7; j >= 0; j-- {
				v = v<<8 | uint64(bs[i+j])
			}
			fmt.Fprintf(&g.b, "DATA %s<>+%d(SB)/8, $0x%016x\n", name, i, v)
		}
		fmt.Fprintf(&g.b, "GLOBL %s<>(SB), RODATA|NOPTR, $%d\n", name, len(bs))
	}
	fill := func(n int, v byte) []byte { return bytes.Repeat([]byte{v}, n) }
	data("mask0f", fill(32, 0x0f))
	data("mask10", fill(32, 0x10))
	data("mask30", fill(32, 0x30))
	data("c8", fill(32, 8))
	data("c16", fill(32, 16))
	data("c32", fill(32, 32))
	data("allones", fill(32, 0xff))
	var bb, bsel []byte
	for i := range 32 {
		bb = append(bb, byte(i/8))
		bsel = append(bsel, ^byte(1<<(i%8)))
	}
	data("bitbyte", bb) // byte i of the 32 takes byte i/8 of qh
	data("bitsel", bsel)
	data("lane1", []byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	var ones []byte
	for range 16 {
		ones = append(ones, 1, 0)
	}
	data("ones16", ones)
	var md []byte
	for j := range 8 {
		md = append(md, byte(8+j), byte(8+j))
	}
	data("minsdup", md)
	var sk []byte // shufk4+32k: int16 k of each 128-bit half in all 8 slots
	for k := range 8 {
		for range 16 {
			sk = append(sk, byte(2*k), byte(2*k+1))
		}
	}
	data("shufk4", sk)
	var s6 []byte // shuf6+16i: byte 2i eight times, then byte 2i+1
	for i := range 8 {
		s6 = append(s6, fill(8, byte(2*i))...)
		s6 = append(s6, fill(8, byte(2*i+1))...)
	}
	data("shuf6", s6)
	// avx512 constants.
	data("mask0fx64", fill(64, 0x0f))
	data("c80x64", fill(64, 0x80))
	data("c16x64", fill(64, 16))
	q64 := func(qs ...uint64) []byte {
		var b []byte
		for _, q := range qs {
			for i := range 8 {
				b = append(b, byte(q>>(8*i)))
			}
		}
		return b
	}
	lo4 := affine(map[int]int{0: 0, 1: 1, 2: 2, 3: 3})
	hi4 := affine(map[int]int{0: 4, 1: 5, 2: 6, 3: 7})
	data("hinib", q64(hi4, hi4, hi4, hi4, hi4, hi4, hi4, hi4))
	data("lonib", q64(lo4, lo4, lo4, lo4, lo4, lo4, lo4, lo4))
	for _, tq := range []struct {
		typ       string
		qs, block int
	}{{"q4_0", 2, 18}, {"q5_0", 6, 22}} { // quads: VPERMT2B of the qs, VPERMI2W of the d (and qh)
		var q, w []byte
		for b := range 4 {
			for i := range 16 {
				q = append(q, byte(64*(b/2)+tq.block*(b%2)+tq.qs+i))
			}
		}
		d := func(b int) int { return 32*(b/2) + tq.block/2*(b%2) }
		for i := range 32 {
			v := d(min(i/4, 3))
			if i >= 16 && i < 24 { // Q5_0: qh, low then high halves
				v = d(i%4) + 1 + (i-16)/4
			}
			w = append(w, byte(v), 0)
		}
		data("quadq_"+tq.typ, q)
		data("quadw_"+tq.typ, w)
		m := func(blocks int) uint64 { return uint64(1)<<(tq.block*blocks) - 1 }
		data("quadtail_"+tq.typ, q64(0, m(1), m(2), m(2), 0, 0, 0, m(1))) // K2, K3 by the partial quad's blocks
	}
	b01, b23 := affine(map[int]int{4: 0, 5: 1}), affine(map[int]int{4: 2, 5: 3})
	b45, b67 := affine(map[int]int{4: 4, 5: 5}), affine(map[int]int{4: 6, 5: 7})
	data("q6hlo", q64(b01, b01, b01, b01, b23, b23, b23, b23)) // values 0-31: qh bits 0-1, 32-63: bits 2-3
	data("q6hhi", q64(b45, b45, b45, b45, b67, b67, b67, b67))
	for _, typ := range []string{"q8_0"} { // VPERMW: each block's d 8 times
		second := map[string]int{"q8_0": 17}[typ]
		var b []byte
		for i := range 32 {
			v := 0
			if i == 1 {
				v = second
			}
			b = append(b, byte(v), 0)
		}
		data("dwidx_"+typ, b)
	}
	var e2 []byte // VPERMPS: float 0 to lanes 0-7, float 1 to lanes 8-15
	for i := range 16 {
		e2 = append(e2, byte(i/8), 0, 0, 0)
	}
	data("expand2", e2)
	words := func(f func(i int) int) []byte {
		var b []byte
		for i := range 32 {
			b = append(b, byte(f(i)), 0)
		}
		return b
	}
	var q4k, q6k []byte
	for u := range 4 { // Q4_K unit u: sub-blocks (u/2)*4 + u%2 and +2, 16 words each
		q4k = append(q4k, words(func(i int) int { return (u/2)*4 + u%2 + 2*(i/16) })...)
	}
	for u := range 4 { // Q6_K unit u = 2h+part: scales 4u + lane
		q6k = append(q6k, words(func(i int) int { return 4*u + i/8 })...)
	}
	data("q4kidx", q4k)
	data("q6kidx", q6k)
	if err := os.WriteFile(filepath.Join(dir, "vecdot_amd64.s"), g.b.Bytes(), 0o644); err != nil {
		panic(err)
	}
	stubs := "// Code generated by vecdot_gen.go; DO NOT EDIT.\n\npackage kernels\n\nconst (\n\t_ tileFunc = iota\n" + ids.String() + ")\n\n" +
		"// callTile runs tile kernel f.\nfunc callTile(f tileFunc, dst *float32, dstride uintptr, w *byte, wstride uintptr, x *byte, xstride uintptr, nb int) {\n\tswitch f {\n" +
		cases.String() + "\tdefault:\n\t\tpanic(\"kernels: no tile kernel\")\n\t}\n}\n" + decls.String()
	if err := os.WriteFile(filepath.Join(dir, "vecdot_stubs_amd64.go"), []byte(stubs), 0o644); err != nil {
		panic(err)
	}
}
