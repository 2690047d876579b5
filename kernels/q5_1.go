package kernels

import "encoding/binary"

// block_q5_1 (24 bytes, 32 values): d f16, m f16, qh u32 (bit j = 5th bit of
// value j), qs[16] low nibbles (value j low nibble of qs[j], value 16+j high
// nibble); x = q*d + m.

func decodeQ5_1(b []byte, y []float32) {
	b, y = b[:24], y[:32]
	d, m := loadF16(b), loadF16(b[2:])
	qh := binary.LittleEndian.Uint32(b[4:])
	for j, q := range b[8:24] {
		q0 := uint32(q&0xf) | qh>>j&1<<4
		q1 := uint32(q>>4) | qh>>(j+16)&1<<4
		y[j] = float32(float32(q0)*d) + m
		y[j+16] = float32(float32(q1)*d) + m
	}
}

// encodeQ5_1 is quantize_row_q5_1_ref: m = min, d = (max-min)/31.
func encodeQ5_1(x []float32, b []byte) {
	x, b = x[:32], b[:24]
	lo, hi := minMax(x)
	d := (hi - lo) / 31
	var id float32
	if d != 0 {
		id = 1 / d
	}
	storeF16(b, d)
	storeF16(b[2:], lo)
	var qh uint32
	for j := range 16 {
		// (uint8_t)v, with no clamp in the reference.
		q0 := byte(truncInt(float32((x[j]-lo)*id) + 0.5))
		q1 := byte(truncInt(float32((x[j+16]-lo)*id) + 0.5))
		b[8+j] = q0&0xf | q1&0xf<<4
		qh |= uint32(q0>>4&1)<<j | uint32(q1>>4&1)<<(j+16)
	}
	binary.LittleEndian.PutUint32(b[4:], qh)
}
