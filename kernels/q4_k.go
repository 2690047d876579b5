package kernels

// block_q4_K (144 bytes, 256 values): d f16, dmin f16, scales[12] (eight
// 6-bit scales and eight 6-bit mins, packed as getScaleMinK4 unpacks them),
// qs[128] nibbles. The values form 8 sub-blocks of 32; sub-blocks 2i and
// 2i+1 use the low and high nibbles of qs[32i:32i+32].
// x = d*sc*q - dmin*m.

func decodeQ4_K(b []byte, y []float32) {
	b, y = b[:144], y[:256]
	d, dmin := loadF16(b), loadF16(b[2:])
	scales, qs := b[4:16], b[16:144]
	for i := range 4 {
		sc, m := getScaleMinK4(2*i, scales)
		d1, m1 := d*float32(sc), dmin*float32(m)
		sc, m = getScaleMinK4(2*i+1, scales)
		d2, m2 := d*float32(sc), dmin*float32(m)
		for l, q := range qs[32*i : 32*i+32] {
			y[64*i+l] = float32(d1*float32(q&0xf)) - m1
			y[64*i+32+l] = float32(d2*float32(q>>4)) - m2
		}
	}
}

// encodeQ4_K is quantize_row_q4_K_ref.
func encodeQ4_K(x []float32, b []byte) {
	x, b = x[:256], b[:144]
	var L [256]uint8
	scales, mins := kxSubScales(x, &L, 15, -1, 0.1, 20)
	packScalesK4(x, b, &L, &scales, &mins, 15)
	qs := b[16:144]
	for i := range 4 {
		for l := range 32 {
			qs[32*i+l] = L[64*i+l] | L[64*i+32+l]<<4
		}
	}
}

// getScaleMinK4 unpacks the 6-bit scale and min of sub-block j: for j < 4
// they are the low 6 bits of q[j] and q[j+4]; for j >= 4 the low 4 bits come
// from q[j+4] (scale low nibble, min high nibble) and the top 2 bits from
// the top bits of q[j-4] (scale) and q[j] (min).
func getScaleMinK4(j int, q []byte) (sc, m byte) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | q[j-4]>>6<<4, q[j+4]>>4 | q[j]>>6<<4
}

// kxSubScales runs make_qkx2_quants on each of the 8 sub-blocks of 32, with
// the weights quantize_row_q{4,5}_K_ref use (mean magnitude plus |x|). It
// returns the sub-block scales and mins (mins as positive offsets) and leaves
// the levels in L.
func kxSubScales(x []float32, L *[256]uint8, nmax int, rmin, rdelta float32, nstep int) (scales, mins [8]float32) {
	var weights [32]float32
	for j := range 8 {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := sqrt32(sumX2 / 32)
		for l, v := range xs {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2Quants(nmax, xs, weights[:], L[32*j:32*j+32], rmin, rdelta, nstep)
	}
	return scales, mins
}

// packScalesK4 stores d, dmin and the 6-bit packed scales and mins of a
// Q4_K/Q5_K block (same header layout), then requantizes the levels in L
// against the scales as they were stored, as the reference does.
func packScalesK4(x []float32, b []byte, L *[256]uint8, scales, mins *[8]float32, nmax int32) {
	var maxScale, maxMin float32
	for j := range 8 {
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	q := b[4:16]
	clear(q)
	for j := range 8 {
		// The reference stores nearest_int into a uint8_t before clamping.
		ls := min(63, uint8(nearestInt(invScale*scales[j])))
		lm := min(63, uint8(nearestInt(invMin*mins[j])))
		if j < 4 {
			q[j], q[j+4] = ls, lm
		} else {
			q[j+4] = ls&0xf | lm&0xf<<4
			q[j-4] |= ls >> 4 << 6
			q[j] |= lm >> 4 << 6
		}
	}
	storeF16(b, maxScale/63)
	storeF16(b[2:], maxMin/63)
	d, dmin := loadF16(b), loadF16(b[2:])
	for j := range 8 {
		sc, m := getScaleMinK4(j, q)
		ds := d * float32(sc)
		if ds == 0 {
			continue
		}
		dm := dmin * float32(m)
		for i, v := range x[32*j : 32*j+32] {
			l := nearestInt((v + dm) / ds)
			L[32*j+i] = uint8(max(0, min(nmax, l)))
		}
	}
}

// makeQKX2Quants is ggml's make_qkx2_quants with use_mad false: it fits
// x ≈ scale*L - min with L in [0, nmax], trying nstep+1 candidate scales
// and solving weighted least squares for each. It returns scale and the min
// as a positive offset. Every product is rounded to float32 on its own, as in
// the C reference, so that the search takes the same path.
func makeQKX2Quants(nmax int, x, w []float32, L []uint8, rmin, rdelta float32, nstep int) (scale, theMin float32) {
	n := len(x)
	lo, hi := x[0], x[0]
	sumW := w[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		if x[i] < lo {
			lo = x[i]
		}
		if x[i] > hi {
			hi = x[i]
		}
		sumW += w[i]
		sumX += float32(w[i] * x[i])
	}
	if lo > 0 {
		lo = 0
	}
	if hi == lo {
		clear(L[:n])
		return 0, -lo
	}
	fmax := float32(nmax)
	iscale := fmax / (hi - lo)
	scale = 1 / iscale
	var bestErr float32
	for i := range n {
		l := max(0, min(int32(nmax), nearestInt(float32(iscale*(x[i]-lo)))))
		L[i] = uint8(l)
		diff := float32(float32(scale*float32(l))+lo) - x[i]
		bestErr += float32(w[i] * float32(diff*diff))
	}
	var aux [32]uint8
	Laux := aux[:n]
	for is := 0; is <= nstep; is++ {
		iscale = (float32(rmin+float32(rdelta*float32(is))) + fmax) / (hi - lo)
		var sumL, sumL2, sumXL float32
		for i := range n {
			l := max(0, min(int32(nmax), nearestInt(float32(iscale*(x[i]-lo)))))
			Laux[i] = uint8(l)
			fl := float32(l)
			wl := float32(w[i] * fl)
			sumL += wl
			sumL2 += float32(wl * fl)
			sumXL += float32(wl * x[i])
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var curErr float32
			for i := range n {
				diff := float32(float32(thisScale*float32(Laux[i]))+thisMin) - x[i]
				curErr += float32(w[i] * float32(diff*diff))
			}
			if curErr < bestErr {
				copy(L[:n], Laux)
				bestErr, scale, lo = curErr, thisScale, thisMin
			}
		}
	}
	return scale, -lo
}
