package kernels

// block_q6_K (210 bytes, 256 values): ql[128] low 4 bits, qh[64] high 2
// bits, scales[16] int8 (one per 16 values), d f16. In each half n of 128
// values, value 32k+l (k = 0..3, l < 32) takes its low bits from
// ql[64n + l + 32*(k&1)] (low nibble for k < 2, high for k >= 2) and its high
// bits from bits 2k..2k+1 of qh[32n + l]. x = d*scale*(q-32).

func decodeQ6_K(b []byte, y []float32) {
	b, y = b[:210], y[:256]
	d := loadF16(b[208:])
	for n := range 2 {
		ql, qh, sc := b[64*n:64*n+64], b[128+32*n:128+32*n+32], b[192+8*n:192+8*n+8]
		yn := y[128*n : 128*n+128]
		for l := range 32 {
			is := l / 16
			h := qh[l]
			q1 := int(ql[l]&0xf|h&3<<4) - 32
			q2 := int(ql[l+32]&0xf|h>>2&3<<4) - 32
			q3 := int(ql[l]>>4|h>>4&3<<4) - 32
			q4 := int(ql[l+32]>>4|h>>6&3<<4) - 32
			yn[l] = float32(d*float32(int8(sc[is]))) * float32(q1)
			yn[l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
			yn[l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
			yn[l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
		}
	}
}

// groupMaxEps is ggml's GROUP_MAX_EPS: groups with a smaller largest
// magnitude are treated as all zero.
const groupMaxEps = 1e-15

// encodeQ6_K is quantize_row_q6_K_ref.
func encodeQ6_K(x []float32, b []byte) {
	x, b = x[:256], b[:210]
	var L [256]uint8
	var scales [16]float32
	var maxScale, maxAbsScale float32
	for ib := range 16 {
		s := makeQXQuants(32, x[16*ib:16*ib+16], L[16*ib:16*ib+16])
		scales[ib] = s
		if a := abs32(s); a > maxAbsScale {
			maxAbsScale, maxScale = a, s
		}
	}
	if maxAbsScale < groupMaxEps {
		clear(b)
		return
	}
	iscale := -128 / maxScale
	storeF16(b[208:], 1/iscale)
	sc := b[192:208]
	for ib := range 16 {
		// int stored into an int8_t: keep the low byte.
		sc[ib] = byte(min(127, nearestInt(iscale*scales[ib])))
	}
	d := loadF16(b[208:])
	for j := range 16 {
		ds := d * float32(int8(sc[j]))
		if ds == 0 {
			continue
		}
		for i, v := range x[16*j : 16*j+16] {
			l := max(-32, min(31, nearestInt(v/ds)))
			L[16*j+i] = uint8(l + 32)
		}
	}
	for n := range 2 {
		ql, qh := b[64*n:64*n+64], b[128+32*n:128+32*n+32]
		Ln := L[128*n : 128*n+128]
		for l := range 32 {
			q1, q2, q3, q4 := Ln[l], Ln[l+32], Ln[l+64], Ln[l+96]
			ql[l] = q1&0xf | q3&0xf<<4
			ql[l+32] = q2&0xf | q4&0xf<<4
			qh[l] = q1>>4 | q2>>4<<2 | q3>>4<<4 | q4>>4<<6
		}
	}
}

// makeQXQuants is ggml's make_qx_quants with rmse_type 1 (weights x²) and
// no importance weights: it fits x ≈ scale*(L-nmax) with L-nmax in
// [-nmax, nmax-1], trying 19 candidate scales. Products are rounded to
// float32 one by one as in the C reference.
func makeQXQuants(nmax int, x []float32, L []uint8) float32 {
	amax, maxv := absMax(x)
	if amax < groupMaxEps {
		clear(L[:len(x)])
		return 0
	}
	quant := func(iscale, v float32) int32 {
		return max(int32(-nmax), min(int32(nmax-1), nearestInt(iscale*v)))
	}
	// sums returns Σ w·x·l and Σ w·l² with w = x².
	sums := func(iscale float32) (sumLX, sumL2 float32) {
		for _, v := range x {
			fl := float32(quant(iscale, v))
			w := v * v
			sumLX += float32(float32(w*v) * fl)
			sumL2 += float32(float32(w*fl) * fl)
		}
		return sumLX, sumL2
	}
	fnmax := float32(nmax)
	iscale := -fnmax / maxv
	for i, v := range x {
		L[i] = uint8(quant(iscale, v) + int32(nmax))
	}
	sumLX, sumL2 := sums(iscale)
	var scale float32
	if sumL2 != 0 {
		scale = sumLX / sumL2
	}
	best := scale * sumLX
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(fnmax + float32(0.1*float32(is))) / maxv
		sumLX, sumL2 = sums(iscale)
		if sumL2 > 0 && float32(sumLX*sumLX) > float32(best*sumL2) {
			for i, v := range x {
				L[i] = uint8(quant(iscale, v) + int32(nmax))
			}
			scale = sumLX / sumL2
			best = scale * sumLX
		}
	}
	return scale
}
