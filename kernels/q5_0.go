package kernels

import "encoding/binary"

// block_q5_0 (22 bytes, 32 values): d f16, qh u32 (bit j = 5th bit of value
// j), qs[16] low nibbles (value j low nibble of qs[j], value 16+j high
// nibble); x = (q-16)*d.

func decodeQ5_0(b []byte, y []float32) {
	b, y = b[:22], y[:32]
	d := loadF16(b)
	qh := binary.LittleEndian.Uint32(b[2:])
	for j, q := range b[6:22] {
		q0 := int(q&0xf) | int(qh>>j&1)<<4
		q1 := int(q>>4) | int(qh>>(j+16)&1)<<4
		y[j] = float32(q0-16) * d
		y[j+16] = float32(q1-16) * d
	}
}

// encodeQ5_0 is quantize_row_q5_0_ref: d = max/-16 where max is the value of
// largest magnitude.
func encodeQ5_0(x []float32, b []byte) {
	x, b = x[:32], b[:22]
	_, maxv := absMax(x)
	d := maxv / -16
	var id float32
	if d != 0 {
		id = 1 / d
	}
	storeF16(b, d)
	var qh uint32
	for j := range 16 {
		// MIN(31, (int8_t)v) stored into a uint8_t.
		q0 := byte(min(31, int8(truncInt(float32(x[j]*id)+16.5))))
		q1 := byte(min(31, int8(truncInt(float32(x[j+16]*id)+16.5))))
		b[6+j] = q0&0xf | q1&0xf<<4
		qh |= uint32(q0>>4&1)<<j | uint32(q1>>4&1)<<(j+16)
	}
	binary.LittleEndian.PutUint32(b[2:], qh)
}
