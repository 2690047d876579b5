package kernels

import (
	"encoding/binary"
	"math"
)

// F32: little-endian IEEE binary32, 4 bytes per value.

func decodeF32(src []byte, dst []float32) {
	src = src[:4*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func encodeF32(src []float32, dst []byte) {
	dst = dst[:4*len(src)]
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

func dotF32(row []byte, x []float32) float32 {
	row = row[:4*len(x)]
	var sum float64
	for i, v := range x {
		sum += float64(math.Float32frombits(binary.LittleEndian.Uint32(row[4*i:]))) * float64(v)
	}
	return float32(sum)
}
