package kernels

import (
	"encoding/binary"
	"math"
)

// block_q8_K (292 bytes, 256 values): d f32, qs[256] int8, bsums[16] int16
// (sum of each 16 quants, for dot products); x = q*d. Used as the
// activation type in k-quant dot products.

func decodeQ8_K(b []byte, y []float32) {
	b, y = b[:292], y[:256]
	d := math.Float32frombits(binary.LittleEndian.Uint32(b))
	for j, q := range b[4:260] {
		y[j] = d * float32(int8(q))
	}
}

// encodeQ8_K is quantize_row_q8_K_ref: d = max/-127 where max is the value
// of largest magnitude.
func encodeQ8_K(x []float32, b []byte) {
	x, b = x[:256], b[:292]
	amax, maxv := absMax(x)
	if amax == 0 {
		// The reference leaves bsums untouched here; we zero them so the
		// output is deterministic.
		clear(b)
		return
	}
	iscale := -127 / maxv
	qs := b[4:260]
	for j, v := range x {
		qs[j] = byte(min(127, nearestInt(iscale*v)))
	}
	for j := range 16 {
		var sum int16
		for _, q := range qs[16*j : 16*j+16] {
			sum += int16(int8(q))
		}
		binary.LittleEndian.PutUint16(b[260+2*j:], uint16(sum))
	}
	binary.LittleEndian.PutUint32(b, math.Float32bits(1/iscale))
}
