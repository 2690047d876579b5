package kernels

import "math"

// block_q4_1 (20 bytes, 32 values): d f16, m f16, qs[16] nibbles (value j
// low nibble of qs[j], value 16+j high nibble); x = q*d + m.

func decodeQ4_1(b []byte, y []float32) {
	b, y = b[:20], y[:32]
	d, m := loadF16(b), loadF16(b[2:])
	for j, q := range b[4:20] {
		y[j] = float32(float32(q&0xf)*d) + m
		y[j+16] = float32(float32(q>>4)*d) + m
	}
}

// encodeQ4_1 is quantize_row_q4_1_ref: m = min, d = (max-min)/15.
func encodeQ4_1(x []float32, b []byte) {
	x, b = x[:32], b[:20]
	lo, hi := minMax(x)
	d := (hi - lo) / 15
	var id float32
	if d != 0 {
		id = 1 / d
	}
	storeF16(b, d)
	storeF16(b[2:], lo)
	for j := range 16 {
		b[4+j] = q4Nibble(float32((x[j]-lo)*id)+0.5) | q4Nibble(float32((x[j+16]-lo)*id)+0.5)<<4
	}
}

// minMax is the reference quantizers' min/max scan, starting from
// ±FLT_MAX so that NaNs are skipped.
func minMax(x []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}
