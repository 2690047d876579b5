//go:build !amd64 && !arm64

package kernels

import "github.com/tandem-llm/tandem/gguf"

// Without SIMD ops useOps stays false and the exported ops run the
// references; these are never called.

func opDot(a, b []float32) float32                 { return DotF32Ref(a, b) }
func opAxpy(dst []float32, a float32, x []float32) { AxpyRef(dst, a, x) }
func opScale(x []float32, s float32)               { ScaleRef(x, s) }
func opMax(x []float32) float32                    { panic("kernels: no SIMD ops") }
func opExpSub(x []float32, m float32) float32      { panic("kernels: no SIMD ops") }
func opSiLUMul(dst, gate, up []float32)            { SiLUMulRef(dst, gate, up) }
func opSumSquares(x []float32) float64             { panic("kernels: no SIMD ops") }
func opRMSScale(dst, x, w []float32, s float32)    { rmsScale(dst, x, w, s) }
func opAttnScores(dst, q, keys []float32, stride int, scale float32) {
	AttnScoresRef(dst, q, keys, stride, scale)
}
func opAttnValues(out, w, values []float32, stride int) { AttnValuesRef(out, w, values, stride) }
func opQuantize(vt gguf.Type, x []float32, dst []byte, nb int) int {
	return 0
}
