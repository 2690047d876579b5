package kernels

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/tandem-llm/tandem/gguf"
)

// The references below transcribe ggml-cpu's generic (plain C)
// ggml_vec_dot_* functions. C's int is int32 here; every float32(...) marks a
// rounding the C code performs, which also keeps Go from fusing a product
// into an add. Q8_K x Q8_K has no ggml vec_dot; it is defined like Q8_0's.

func dotQRef(t gguf.Type, row, xq []byte, n int) float32 {
	switch t {
	case gguf.TypeF32:
		return dotRefF32(row, xq, n)
	case gguf.TypeF16:
		return dotRefF16(row, xq, n)
	case gguf.TypeBF16:
		return dotRefBF16(row, xq, n)
	}
	bs := t.BlockSize()
	wb, xb := t.BlockBytes(), VecDotType(t).BlockBytes()
	if bs == gguf.QK_K {
		return dotRefK(t, row, xq, n/bs)
	}
	var sumf float32
	for i := range n / bs {
		w, y := row[i*wb:(i+1)*wb], xq[i*xb:(i+1)*xb]
		sumf += dotRefBlock32(t, w, y)
	}
	return sumf
}

// dotRefBlock32 is one block's term of the 32-value types' generic loops.
func dotRefBlock32(t gguf.Type, w, y []byte) float32 {
	var sumi int32
	switch t {
	case gguf.TypeQ8_0: // sumf += sumi*(dx*dy)
		for j := range 32 {
			sumi += int32(int8(w[2+j])) * int32(int8(y[2+j]))
		}
		return float32(sumi) * float32(loadF16(w)*loadF16(y))
	case gguf.TypeQ4_0: // sumf += sumi*dx*dy
		for j := range 16 {
			v0, v1 := int32(w[2+j]&0xf)-8, int32(w[2+j]>>4)-8
			sumi += v0*int32(int8(y[2+j])) + v1*int32(int8(y[18+j]))
		}
		return float32(float32(sumi)*loadF16(w)) * loadF16(y)
	case gguf.TypeQ5_0: // sumf += (dx*dy)*sumi
		qh := binary.LittleEndian.Uint32(w[2:])
		for j := range 16 {
			x0 := int32(uint32(w[6+j]&0xf)|(qh>>j&1)<<4) - 16
			x1 := int32(uint32(w[6+j]>>4)|(qh>>(j+16)&1)<<4) - 16
			sumi += x0*int32(int8(y[2+j])) + x1*int32(int8(y[18+j]))
		}
		return float32(loadF16(w)*loadF16(y)) * float32(sumi)
	case gguf.TypeQ4_1: // sumf += (dx*dy)*sumi + mx*sy
		for j := range 16 {
			sumi += int32(w[4+j]&0xf)*int32(int8(y[4+j])) + int32(w[4+j]>>4)*int32(int8(y[20+j]))
		}
		return float32(float32(loadF16(w)*loadF16(y))*float32(sumi)) + float32(loadF16(w[2:])*loadF16(y[2:]))
	case gguf.TypeQ5_1:
		qh := binary.LittleEndian.Uint32(w[4:])
		for j := range 16 {
			x0 := int32(uint32(w[8+j]&0xf) | (qh>>j&1)<<4)
			x1 := int32(uint32(w[8+j]>>4) | (qh>>(j+16)&1)<<4)
			sumi += x0*int32(int8(y[4+j])) + x1*int32(int8(y[20+j]))
		}
		return float32(float32(loadF16(w)*loadF16(y))*float32(sumi)) + float32(loadF16(w[2:])*loadF16(y[2:]))
	}
	panic(fmt.Sprintf("kernels: no dot product for %v", t))
}

// dotRefK is the k-quants' generic loop: per super-block the weights are
// expanded to int8 (aux8), each group of 8 products gets its sub-block scale
// into 8 int32 lanes (aux32), the lanes are scaled into 8 float sums, and the
// mins term (bsums times the 6-bit mins) is subtracted from sumf.
func dotRefK(t gguf.Type, row, xq []byte, nb int) float32 {
	wb := t.BlockBytes()
	var sums [8]float32
	var sumf float32
	for i := range nb {
		w, y := row[i*wb:(i+1)*wb], xq[i*292:(i+1)*292]
		dy := math.Float32frombits(binary.LittleEndian.Uint32(y))
		q8 := y[4:260]
		var aux8 [256]int8
		var scales [16]int32 // per 16 values
		var d float32
		switch t {
		case gguf.TypeQ8_K:
			var sumi int32
			for j := range 256 {
				sumi += int32(int8(w[4+j])) * int32(int8(q8[j]))
			}
			dx := math.Float32frombits(binary.LittleEndian.Uint32(w))
			sumf += float32(sumi) * float32(dx*dy)
			continue
		case gguf.TypeQ4_K, gguf.TypeQ5_K:
			sc := w[4:16]
			var qh, qs []byte
			if t == gguf.TypeQ5_K {
				qh, qs = w[16:48], w[48:176]
			} else {
				qs = w[16:144]
			}
			for j := range 4 {
				for l := range 32 {
					lo, hi := int8(qs[32*j+l]&0xf), int8(qs[32*j+l]>>4)
					if qh != nil {
						lo += int8(qh[l] >> (2 * j) & 1 << 4)
						hi += int8(qh[l] >> (2*j + 1) & 1 << 4)
					}
					aux8[64*j+l], aux8[64*j+32+l] = lo, hi
				}
			}
			var summ int32
			for j := range 8 {
				s, m := getScaleMinK4(j, sc)
				scales[2*j], scales[2*j+1] = int32(s), int32(s)
				bs0 := int32(int16(binary.LittleEndian.Uint16(y[260+4*j:])))
				bs1 := int32(int16(binary.LittleEndian.Uint16(y[262+4*j:])))
				summ += (bs0 + bs1) * int32(m)
			}
			d = loadF16(w) * dy
			dmin := loadF16(w[2:]) * dy
			sumf -= float32(dmin * float32(summ))
		case gguf.TypeQ6_K:
			for n := range 2 {
				ql, qh := w[64*n:64*n+64], w[128+32*n:128+32*n+32]
				a := aux8[128*n : 128*n+128]
				for l := range 32 {
					a[l] = int8(ql[l]&0xf|qh[l]&3<<4) - 32
					a[l+32] = int8(ql[l+32]&0xf|qh[l]>>2&3<<4) - 32
					a[l+64] = int8(ql[l]>>4|qh[l]>>4&3<<4) - 32
					a[l+96] = int8(ql[l+32]>>4|qh[l]>>6&3<<4) - 32
				}
			}
			for j := range 16 {
				scales[j] = int32(int8(w[192+j]))
			}
			d = loadF16(w[208:]) * dy
		default:
			panic(fmt.Sprintf("kernels: no dot product for %v", t))
		}
		var aux32 [8]int32
		for j := range 32 { // groups of 8 values
			for l := range 8 {
				aux16 := int16(int8(q8[8*j+l])) * int16(aux8[8*j+l])
				aux32[l] += scales[j/2] * int32(aux16)
			}
		}
		for l := range 8 {
			sums[l] += float32(d * float32(aux32[l]))
		}
	}
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

// The float types: each product rounded to float32, summed in float64
// (ggml_float), as ggml_vec_dot_f32/f16/bf16's scalar loops.

func dotRefF32(row, x []byte, n int) float32 {
	var sum float64
	for i := range n {
		a := math.Float32frombits(binary.LittleEndian.Uint32(row[4*i:]))
		b := math.Float32frombits(binary.LittleEndian.Uint32(x[4*i:]))
		sum += float64(float32(a * b))
	}
	return float32(sum)
}

func dotRefF16(row, x []byte, n int) float32 {
	var sum float64
	for i := range n {
		sum += float64(float32(loadF16(row[2*i:]) * loadF16(x[2*i:])))
	}
	return float32(sum)
}

func dotRefBF16(row, x []byte, n int) float32 {
	var sum float64
	for i := range n {
		a := BF16ToF32(binary.LittleEndian.Uint16(row[2*i:]))
		b := BF16ToF32(binary.LittleEndian.Uint16(x[2*i:]))
		sum += float64(float32(a * b))
	}
	return float32(sum)
}
