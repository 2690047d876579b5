package kernels

// block_q5_K (176 bytes, 256 values): d f16, dmin f16, scales[12] (as in
// Q4_K), qh[32], qs[128]. Sub-blocks 2i and 2i+1 (32 values each) take their
// low 4 bits from the low and high nibbles of qs[32i:32i+32] and their 5th
// bit from bits 2i and 2i+1 of qh[0:32]. x = d*sc*q - dmin*m.

func decodeQ5_K(b []byte, y []float32) {
	b, y = b[:176], y[:256]
	d, dmin := loadF16(b), loadF16(b[2:])
	scales, qh, qs := b[4:16], b[16:48], b[48:176]
	for i := range 4 {
		sc, m := getScaleMinK4(2*i, scales)
		d1, m1 := d*float32(sc), dmin*float32(m)
		sc, m = getScaleMinK4(2*i+1, scales)
		d2, m2 := d*float32(sc), dmin*float32(m)
		for l, q := range qs[32*i : 32*i+32] {
			h := qh[l] >> (2 * i)
			y[64*i+l] = float32(d1*float32(q&0xf|h&1<<4)) - m1
			y[64*i+32+l] = float32(d2*float32(q>>4|h&2<<3)) - m2
		}
	}
}

// encodeQ5_K is quantize_row_q5_K_ref.
func encodeQ5_K(x []float32, b []byte) {
	x, b = x[:256], b[:176]
	var L [256]uint8
	scales, mins := kxSubScales(x, &L, 31, -0.5, 0.1, 15)
	packScalesK4(x, b, &L, &scales, &mins, 31)
	qh, qs := b[16:48], b[48:176]
	clear(qh)
	for i := range 4 {
		for l := range 32 {
			l1, l2 := L[64*i+l], L[64*i+32+l]
			qs[32*i+l] = l1&0xf | l2&0xf<<4
			qh[l] |= (l1>>4)<<(2*i) | (l2>>4)<<(2*i+1)
		}
	}
}
