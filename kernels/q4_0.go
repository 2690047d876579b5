package kernels

// block_q4_0 (18 bytes, 32 values): d f16, qs[16] nibbles; value j is the
// low nibble of qs[j], value 16+j the high nibble; x = (q-8)*d.

func decodeQ4_0(b []byte, y []float32) {
	b, y = b[:18], y[:32]
	d := loadF16(b)
	for j, q := range b[2:18] {
		y[j] = float32(int(q&0xf)-8) * d
		y[j+16] = float32(int(q>>4)-8) * d
	}
}

// encodeQ4_0 is quantize_row_q4_0_ref: d = max/-8 where max is the value of
// largest magnitude, so that value maps exactly to q = 0.
func encodeQ4_0(x []float32, b []byte) {
	x, b = x[:32], b[:18]
	_, maxv := absMax(x)
	d := maxv / -8
	var id float32
	if d != 0 {
		id = 1 / d
	}
	storeF16(b, d)
	for j := range 16 {
		// float32() keeps the product rounded on its own, as in the C
		// reference; Go could otherwise fuse it into the add.
		b[2+j] = q4Nibble(float32(x[j]*id)+8.5) | q4Nibble(float32(x[j+16]*id)+8.5)<<4
	}
}

// q4Nibble is MIN(15, (int8_t)v) stored into a uint8_t, as the reference
// quantizers of Q4_0 and Q4_1 do.
func q4Nibble(v float32) byte { return byte(min(15, int8(truncInt(v)))) }
