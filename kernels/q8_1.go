package kernels

// block_q8_1 (36 bytes, 32 values): d f16, s f16 = d*sum(qs) (for the min
// term of Q4_1/Q5_1 dot products), qs[32] int8; x = q*d. It is only an
// activation type here (gguf keeps it unsupported as a tensor type).

// encodeQ8_1 is quantize_row_q8_1_ref: as Q8_0, plus s = fp16(sum*d) with
// the unrounded float32 d.
func encodeQ8_1(x []float32, b []byte) {
	x, b = x[:32], b[:36]
	var amax float32
	for _, v := range x {
		if a := abs32(v); !(amax > a) { // MAX(amax, |v|), as in encodeQ8_0
			amax = a
		}
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	storeF16(b, d)
	var sum int32
	for j, v := range x {
		q := int8(roundInt(v * id))
		b[4+j] = byte(q)
		sum += int32(q)
	}
	storeF16(b[2:], float32(sum)*d)
}
