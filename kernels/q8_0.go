package kernels

// block_q8_0 (34 bytes, 32 values): d f16, qs[32] int8; x = q*d.

func decodeQ8_0(b []byte, y []float32) {
	b, y = b[:34], y[:32]
	d := loadF16(b)
	for j, q := range b[2:34] {
		y[j] = float32(int8(q)) * d
	}
}

// encodeQ8_0 is quantize_row_q8_0_ref: d = amax/127, q = round(x/d).
func encodeQ8_0(x []float32, b []byte) {
	x, b = x[:32], b[:34]
	var amax float32
	for _, v := range x {
		// MAX(amax, |v|) keeps amax only when amax > |v|, which also
		// decides what happens with NaN.
		if a := abs32(v); !(amax > a) {
			amax = a
		}
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	storeF16(b, d)
	for j, v := range x {
		b[2+j] = byte(roundInt(v * id))
	}
}
