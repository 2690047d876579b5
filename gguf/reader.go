package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
)

// ErrFormat is wrapped by every error about the file's contents.
var ErrFormat = errors.New("invalid GGUF")

// File is an open GGUF file. Its tensor data is memory-mapped; Close unmaps it,
// after which slices from TensorData must not be used.
type File struct {
	Path       string
	Version    uint32
	KV         []KV
	Tensors    []TensorInfo
	Alignment  uint64
	DataOffset uint64 // absolute offset of the data section
	Size       int64  // file size in bytes

	kv      map[string]int
	tensors map[string]int
	data    []byte // the whole file, mapped
	unmap   func() error
	evict   func() error
}

// Open maps and parses a GGUF file.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, not a GGUF file", path)
	}
	if st.Size() < 4+4+8+8 {
		return nil, fmt.Errorf("%s: %w: file is %d bytes, too small for a GGUF header", path, ErrFormat, st.Size())
	}
	data, unmap, evict, err := mapFile(fh, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: map: %w", path, err)
	}
	f, err := Parse(data)
	if err != nil {
		unmap()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.Path = path
	f.unmap, f.evict = unmap, evict
	return f, nil
}

// Parse parses a GGUF image held in memory. The File refers to data; it is not
// copied.
func Parse(data []byte) (*File, error) {
	r := &reader{b: data}
	if len(data) < 4 || string(data[:4]) != Magic {
		return nil, fmt.Errorf("%w: bad magic (not a GGUF file)", ErrFormat)
	}
	r.off = 4
	f := &File{data: data, Size: int64(len(data)), kv: map[string]int{}, tensors: map[string]int{}}
	f.Version = r.u32()
	if r.err != nil {
		return nil, r.wrap("header")
	}
	if f.Version < 1 || f.Version > 3 {
		return nil, fmt.Errorf("%w: unsupported GGUF version %d (supported: 1, 2, 3)", ErrFormat, f.Version)
	}
	r.v1 = f.Version == 1
	nTensors := r.count()
	nKV := r.count()
	if r.err != nil {
		return nil, r.wrap("header")
	}
	// Each KV needs at least len+4+1 bytes and each tensor info
	// len+4+len+4+8 (len: 8 bytes, 4 in v1), so counts beyond what the file
	// can hold are corrupt.
	minKV, minTensor := uint64(8+4+1), uint64(8+4+8+4+8)
	if r.v1 {
		minKV, minTensor = 4+4+1, 4+4+4+4+8
	}
	if nKV > uint64(len(data))/minKV {
		return nil, fmt.Errorf("%w: metadata count %d is impossible for a %d-byte file", ErrFormat, nKV, len(data))
	}
	if nTensors > uint64(len(data))/minTensor {
		return nil, fmt.Errorf("%w: tensor count %d is impossible for a %d-byte file", ErrFormat, nTensors, len(data))
	}
	// Counts are only bounded by the file size, which may be gigabytes:
	// preallocate little and let append grow as entries actually decode.
	f.KV = make([]KV, 0, min(nKV, maxPrealloc))
	for i := uint64(0); i < nKV; i++ {
		key := r.str()
		vt := ValueType(r.u32())
		if r.err != nil {
			return nil, r.wrap(fmt.Sprintf("metadata entry %d", i))
		}
		v := r.value(vt, 0)
		if r.err != nil {
			return nil, r.wrap(fmt.Sprintf("metadata %q", key))
		}
		if _, dup := f.kv[key]; dup {
			return nil, fmt.Errorf("%w: duplicate metadata key %q", ErrFormat, key)
		}
		f.kv[key] = len(f.KV)
		f.KV = append(f.KV, KV{key, v})
	}
	f.Alignment = DefaultAlignment
	if a, ok := f.Get("general.alignment"); ok {
		v, ok := toUint(a)
		if !ok {
			return nil, fmt.Errorf("%w: general.alignment is %T %v, not a non-negative integer", ErrFormat, a, a)
		}
		if v == 0 || v&(v-1) != 0 || v > 1<<20 {
			return nil, fmt.Errorf("%w: general.alignment %d is not a power of two ≤ 1 MiB", ErrFormat, v)
		}
		f.Alignment = v
	}
	f.Tensors = make([]TensorInfo, 0, min(nTensors, maxPrealloc))
	for i := uint64(0); i < nTensors; i++ {
		var ti TensorInfo
		ti.Name = r.str()
		nd := r.u32()
		if r.err == nil && nd > MaxDims {
			return nil, fmt.Errorf("%w: tensor %q has %d dimensions (max %d)", ErrFormat, ti.Name, nd, MaxDims)
		}
		for j := uint32(0); j < nd && r.err == nil; j++ {
			ti.Dims = append(ti.Dims, r.count())
		}
		ti.Type = Type(r.u32())
		ti.Offset = r.u64()
		if r.err != nil {
			return nil, r.wrap(fmt.Sprintf("tensor info %d", i))
		}
		if err := ti.validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrFormat, err)
		}
		if _, dup := f.tensors[ti.Name]; dup {
			return nil, fmt.Errorf("%w: duplicate tensor name %q", ErrFormat, ti.Name)
		}
		f.tensors[ti.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, ti)
	}
	f.DataOffset = alignUp(uint64(r.off), f.Alignment)
	if f.DataOffset > uint64(len(data)) && len(f.Tensors) > 0 {
		return nil, fmt.Errorf("%w: data section starts at %d, past the end of the %d-byte file (truncated?)",
			ErrFormat, f.DataOffset, len(data))
	}
	dataSize := uint64(len(data)) - min(f.DataOffset, uint64(len(data)))
	for _, ti := range f.Tensors {
		if ti.Offset%f.Alignment != 0 {
			return nil, fmt.Errorf("%w: tensor %q offset %d is not aligned to %d", ErrFormat, ti.Name, ti.Offset, f.Alignment)
		}
		if ti.Offset > dataSize || ti.Size() > dataSize-ti.Offset {
			return nil, fmt.Errorf("%w: tensor %q (%d bytes at data offset %d) runs past the end of the file (data section is %d bytes; truncated?)",
				ErrFormat, ti.Name, ti.Size(), ti.Offset, dataSize)
		}
	}
	if err := checkOverlap(f.Tensors); err != nil {
		return nil, err
	}
	return f, nil
}

func checkOverlap(ts []TensorInfo) error {
	idx := make([]int, len(ts))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return ts[idx[a]].Offset < ts[idx[b]].Offset })
	for i := 1; i < len(idx); i++ {
		p, q := ts[idx[i-1]], ts[idx[i]]
		if p.Offset+p.Size() > q.Offset {
			return fmt.Errorf("%w: tensors %q and %q overlap", ErrFormat, p.Name, q.Name)
		}
	}
	return nil
}

// Close unmaps the file.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap, f.evict, f.data = nil, nil, nil
	return err
}

// Evict gives the memory of the mapped tensor data back to the system
// while the file stays open: the pages are read again when next used.
func (f *File) Evict() error {
	if f.evict == nil {
		return nil
	}
	return f.evict()
}

// Tensor looks up a tensor by name.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.tensors[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// TensorData returns the bytes of a tensor, pointing into the mapping.
func (f *File) TensorData(ti TensorInfo) ([]byte, error) {
	if f.data == nil {
		return nil, fmt.Errorf("gguf: file is closed")
	}
	if err := ti.validate(); err != nil { // Size divides by the block size
		return nil, fmt.Errorf("gguf: %w", err)
	}
	start := f.DataOffset + ti.Offset
	end := start + ti.Size()
	if ti.Offset > uint64(len(f.data)) || end > uint64(len(f.data)) || end < start {
		return nil, fmt.Errorf("%w: tensor %q is out of bounds", ErrFormat, ti.Name)
	}
	return f.data[start:end:end], nil
}

// Drop forgets a metadata value the caller has no further use for, so that
// its memory can be reclaimed: a 128k-token vocabulary's merges are ~8 MB
// of strings that the tokenizer keeps in its own form. Get reports the key
// absent afterwards.
func (f *File) Drop(key string) {
	i, ok := f.kv[key]
	if !ok {
		return
	}
	f.KV = slices.Delete(f.KV, i, i+1)
	delete(f.kv, key)
	for k, j := range f.kv {
		if j > i {
			f.kv[k] = j - 1
		}
	}
}

// Get returns a metadata value.
func (f *File) Get(key string) (any, bool) {
	i, ok := f.kv[key]
	if !ok {
		return nil, false
	}
	return f.KV[i].Value, true
}

// String returns a string metadata value.
func (f *File) String(key string) (string, bool) {
	v, _ := f.Get(key)
	s, ok := v.(string)
	return s, ok
}

// Uint returns a non-negative integer metadata value of any integer type.
func (f *File) Uint(key string) (uint64, bool) {
	v, _ := f.Get(key)
	return toUint(v)
}

func toUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8:
		return uint64(x), x >= 0
	case int16:
		return uint64(x), x >= 0
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	}
	return 0, false
}

// Int returns an integer metadata value of any integer type as int64.
func (f *File) Int(key string) (int64, bool) {
	v, _ := f.Get(key)
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	}
	u, ok := toUint(v)
	if !ok || u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// Float returns a float metadata value (float32 or float64).
func (f *File) Float(key string) (float64, bool) {
	v, _ := f.Get(key)
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// Bool returns a bool metadata value.
func (f *File) Bool(key string) (bool, bool) {
	v, _ := f.Get(key)
	b, ok := v.(bool)
	return b, ok
}

// Strings returns a string-array metadata value.
func (f *File) Strings(key string) ([]string, bool) {
	v, _ := f.Get(key)
	s, ok := v.([]string)
	return s, ok
}

// Float32s returns a float32-array metadata value.
func (f *File) Float32s(key string) ([]float32, bool) {
	v, _ := f.Get(key)
	s, ok := v.([]float32)
	return s, ok
}

// Int32s returns an integer-array metadata value converted to int32; it
// fails if any element does not fit.
func (f *File) Int32s(key string) ([]int32, bool) {
	v, _ := f.Get(key)
	switch x := v.(type) {
	case []int32:
		return x, true
	case []uint32:
		return convertInts(x)
	case []int8:
		return convertInts(x)
	case []uint8:
		return convertInts(x)
	case []int16:
		return convertInts(x)
	case []uint16:
		return convertInts(x)
	case []int64:
		return convertInts(x)
	case []uint64:
		return convertInts(x)
	}
	return nil, false
}

func convertInts[T int8 | uint8 | int16 | uint16 | uint32 | int64 | uint64](x []T) ([]int32, bool) {
	out := make([]int32, len(x))
	for i, v := range x {
		if T(int32(v)) != v || (int32(v) < 0) != (v < 0) {
			return nil, false
		}
		out[i] = int32(v)
	}
	return out, true
}

// reader decodes little-endian values, remembering the first error so that
// callers can check once per record.
type reader struct {
	b   []byte
	off int
	err error
	v1  bool // GGUF v1 uses 32-bit counts and lengths
}

func (r *reader) need(n uint64) bool {
	if r.err != nil {
		return false
	}
	if n > uint64(len(r.b)-r.off) {
		r.err = fmt.Errorf("unexpected end of file at offset %d (need %d more bytes)", r.off, n)
		return false
	}
	return true
}

func (r *reader) wrap(what string) error {
	return fmt.Errorf("%w: %s: %w", ErrFormat, what, r.err)
}

func (r *reader) u8() uint8 {
	if !r.need(1) {
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *reader) u16() uint16 {
	if !r.need(2) {
		return 0
	}
	r.off += 2
	return binary.LittleEndian.Uint16(r.b[r.off-2:])
}

func (r *reader) u32() uint32 {
	if !r.need(4) {
		return 0
	}
	r.off += 4
	return binary.LittleEndian.Uint32(r.b[r.off-4:])
}

func (r *reader) u64() uint64 {
	if !r.need(8) {
		return 0
	}
	r.off += 8
	return binary.LittleEndian.Uint64(r.b[r.off-8:])
}

// count reads a count or length: 64-bit in v2+, 32-bit in v1.
func (r *reader) count() uint64 {
	if r.v1 {
		return uint64(r.u32())
	}
	return r.u64()
}

func (r *reader) str() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)-r.off) {
		r.err = fmt.Errorf("string length %d at offset %d exceeds the %d bytes left", n, r.off, len(r.b)-r.off)
		return ""
	}
	s := string(r.b[r.off : r.off+int(n)])
	r.off += int(n)
	return s
}

// maxNesting bounds arrays of arrays so a crafted file can't recurse deeply.
const maxNesting = 4

func (r *reader) value(t ValueType, depth int) any {
	switch t {
	case ValUint8:
		return r.u8()
	case ValInt8:
		return int8(r.u8())
	case ValUint16:
		return r.u16()
	case ValInt16:
		return int16(r.u16())
	case ValUint32:
		return r.u32()
	case ValInt32:
		return int32(r.u32())
	case ValFloat32:
		return math.Float32frombits(r.u32())
	case ValBool:
		b := r.u8()
		if r.err == nil && b > 1 {
			r.err = fmt.Errorf("bool value %d is not 0 or 1", b)
		}
		return b == 1
	case ValString:
		return r.str()
	case ValUint64:
		return r.u64()
	case ValInt64:
		return int64(r.u64())
	case ValFloat64:
		return math.Float64frombits(r.u64())
	case ValArray:
		if depth >= maxNesting {
			r.err = fmt.Errorf("arrays nested deeper than %d", maxNesting)
			return nil
		}
		et := ValueType(r.u32())
		n := r.count()
		if r.err != nil {
			return nil
		}
		return r.array(et, n, depth)
	}
	if r.err == nil {
		r.err = fmt.Errorf("unknown value type %d", uint32(t))
	}
	return nil
}

// elemMin is the smallest encoded size of one array element, used to reject
// counts the rest of the file cannot hold before allocating.
func (r *reader) elemMin(t ValueType) uint64 {
	switch t {
	case ValUint8, ValInt8, ValBool:
		return 1
	case ValUint16, ValInt16:
		return 2
	case ValUint32, ValInt32, ValFloat32:
		return 4
	case ValUint64, ValInt64, ValFloat64:
		return 8
	case ValString:
		if r.v1 {
			return 4
		}
		return 8
	case ValArray:
		return 4 + 4
	}
	return 1
}

func (r *reader) array(et ValueType, n uint64, depth int) any {
	if et > ValFloat64 {
		r.err = fmt.Errorf("array of unknown value type %d", uint32(et))
		return nil
	}
	if em := r.elemMin(et); n > uint64(len(r.b)-r.off)/em {
		r.err = fmt.Errorf("array of %d %s values cannot fit in the %d bytes left", n, et, len(r.b)-r.off)
		return nil
	}
	switch et {
	case ValUint8:
		return readSlice(r, n, r.u8)
	case ValInt8:
		return readSlice(r, n, func() int8 { return int8(r.u8()) })
	case ValUint16:
		return readSlice(r, n, r.u16)
	case ValInt16:
		return readSlice(r, n, func() int16 { return int16(r.u16()) })
	case ValUint32:
		return readSlice(r, n, r.u32)
	case ValInt32:
		return readSlice(r, n, func() int32 { return int32(r.u32()) })
	case ValFloat32:
		return readSlice(r, n, func() float32 { return math.Float32frombits(r.u32()) })
	case ValBool:
		return readSlice(r, n, func() bool { return r.value(ValBool, depth) == true })
	case ValString:
		return readSlice(r, n, r.str)
	case ValUint64:
		return readSlice(r, n, r.u64)
	case ValInt64:
		return readSlice(r, n, func() int64 { return int64(r.u64()) })
	case ValFloat64:
		return readSlice(r, n, func() float64 { return math.Float64frombits(r.u64()) })
	default: // ValArray
		return readSlice(r, n, func() any { return r.value(ValArray, depth+1) })
	}
}

// maxPrealloc caps the capacity reserved for a count read from the file.
const maxPrealloc = 1 << 12

func readSlice[T any](r *reader, n uint64, next func() T) []T {
	out := make([]T, 0, min(n, maxPrealloc))
	for range n {
		v := next()
		if r.err != nil {
			return nil
		}
		out = append(out, v)
	}
	return out
}
