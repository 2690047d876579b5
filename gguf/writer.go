package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// Writer streams a GGUF v3 file: the header (metadata and tensor infos) is
// written by NewWriter, then each tensor's data in declaration order by
// WriteTensor, so large models never need to be held in memory at once.
type Writer struct {
	w         *bufio.Writer
	tensors   []TensorInfo
	next      int
	off       uint64 // bytes written so far
	alignment uint64
}

// NewWriter writes the header. Tensor offsets are computed here; the Offset
// fields of tensors are ignored.
func NewWriter(out io.Writer, kvs []KV, tensors []TensorInfo) (*Writer, error) {
	w := &Writer{w: bufio.NewWriterSize(out, 1<<20), alignment: DefaultAlignment}
	seen := map[string]bool{}
	for _, kv := range kvs {
		if seen[kv.Key] {
			return nil, fmt.Errorf("gguf: duplicate metadata key %q", kv.Key)
		}
		seen[kv.Key] = true
		if kv.Key == "general.alignment" {
			a, ok := toUint(kv.Value)
			if !ok || a == 0 || a&(a-1) != 0 || a > 1<<20 {
				return nil, fmt.Errorf("gguf: general.alignment %v is not a power of two ≤ 1 MiB", kv.Value)
			}
			w.alignment = a
		}
	}
	w.tensors = make([]TensorInfo, len(tensors))
	var off uint64
	names := map[string]bool{}
	for i, ti := range tensors {
		if err := ti.validate(); err != nil {
			return nil, fmt.Errorf("gguf: %w", err)
		}
		if names[ti.Name] {
			return nil, fmt.Errorf("gguf: duplicate tensor name %q", ti.Name)
		}
		names[ti.Name] = true
		ti.Offset = off
		w.tensors[i] = ti
		off = alignUp(off+ti.Size(), w.alignment)
	}

	w.bytes([]byte(Magic))
	w.u32(3)
	w.u64(uint64(len(tensors)))
	w.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		w.str(kv.Key)
		if err := w.value(kv.Value, true, 0); err != nil {
			return nil, fmt.Errorf("gguf: metadata %q: %w", kv.Key, err)
		}
	}
	for _, ti := range w.tensors {
		w.str(ti.Name)
		w.u32(uint32(len(ti.Dims)))
		for _, d := range ti.Dims {
			w.u64(d)
		}
		w.u32(uint32(ti.Type))
		w.u64(ti.Offset)
	}
	w.pad()
	return w, nil
}

// WriteTensor writes the next tensor's data; it must have exactly the
// tensor's size.
func (w *Writer) WriteTensor(data []byte) error {
	if w.next >= len(w.tensors) {
		return fmt.Errorf("gguf: all %d tensors already written", len(w.tensors))
	}
	ti := w.tensors[w.next]
	if uint64(len(data)) != ti.Size() {
		return fmt.Errorf("gguf: tensor %q: got %d bytes, want %d (%s %v)", ti.Name, len(data), ti.Size(), ti.Type, ti.Dims)
	}
	w.next++
	w.bytes(data)
	w.pad()
	return nil
}

// Close flushes the file; it fails if tensors are missing.
func (w *Writer) Close() error {
	if w.next != len(w.tensors) {
		return fmt.Errorf("gguf: %d of %d tensors written", w.next, len(w.tensors))
	}
	return w.w.Flush()
}

// Tensor is a tensor with its data, for WriteFile.
type Tensor struct {
	TensorInfo
	Data []byte
}

// WriteFile writes a complete GGUF v3 file.
func WriteFile(path string, kvs []KV, tensors []Tensor) error {
	infos := make([]TensorInfo, len(tensors))
	for i, t := range tensors {
		infos[i] = t.TensorInfo
	}
	return CreateFile(path, kvs, infos, func(w *Writer) error {
		for _, t := range tensors {
			if err := w.WriteTensor(t.Data); err != nil {
				return err
			}
		}
		return nil
	})
}

// CreateFile writes a GGUF v3 file whose tensor data write produces, in
// order, with w.WriteTensor. On any error the partial file is removed.
func CreateFile(path string, kvs []KV, tensors []TensorInfo, write func(w *Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	w, err := NewWriter(f, kvs, tensors)
	if err != nil {
		return err
	}
	if err := write(w); err != nil {
		return err
	}
	return w.Close()
}

func (w *Writer) pad() {
	if n := alignUp(w.off, w.alignment) - w.off; n > 0 {
		w.bytes(make([]byte, n))
	}
}

func (w *Writer) bytes(b []byte) {
	w.w.Write(b) // bufio.Writer keeps the first error and reports it at Flush
	w.off += uint64(len(b))
}

func (w *Writer) u32(v uint32) { w.bytes(binary.LittleEndian.AppendUint32(nil, v)) }
func (w *Writer) u64(v uint64) { w.bytes(binary.LittleEndian.AppendUint64(nil, v)) }
func (w *Writer) str(s string) { w.u64(uint64(len(s))); w.bytes([]byte(s)) }

// value writes v, with its type tag if tagged (array elements are untagged).
// depth counts the arrays enclosing v, bounded as the reader bounds it.
func (w *Writer) value(v any, tagged bool, depth int) error {
	tag := func(t ValueType) {
		if tagged {
			w.u32(uint32(t))
		}
	}
	switch x := v.(type) {
	case uint8:
		tag(ValUint8)
		w.bytes([]byte{x})
	case int8:
		tag(ValInt8)
		w.bytes([]byte{byte(x)})
	case uint16:
		tag(ValUint16)
		w.bytes(binary.LittleEndian.AppendUint16(nil, x))
	case int16:
		tag(ValInt16)
		w.bytes(binary.LittleEndian.AppendUint16(nil, uint16(x)))
	case uint32:
		tag(ValUint32)
		w.u32(x)
	case int32:
		tag(ValInt32)
		w.u32(uint32(x))
	case float32:
		tag(ValFloat32)
		w.u32(math.Float32bits(x))
	case bool:
		tag(ValBool)
		b := byte(0)
		if x {
			b = 1
		}
		w.bytes([]byte{b})
	case string:
		tag(ValString)
		w.str(x)
	case uint64:
		tag(ValUint64)
		w.u64(x)
	case int64:
		tag(ValInt64)
		w.u64(uint64(x))
	case float64:
		tag(ValFloat64)
		w.u64(math.Float64bits(x))
	case []uint8:
		return writeArray(w, tagged, depth, ValUint8, x)
	case []int8:
		return writeArray(w, tagged, depth, ValInt8, x)
	case []uint16:
		return writeArray(w, tagged, depth, ValUint16, x)
	case []int16:
		return writeArray(w, tagged, depth, ValInt16, x)
	case []uint32:
		return writeArray(w, tagged, depth, ValUint32, x)
	case []int32:
		return writeArray(w, tagged, depth, ValInt32, x)
	case []float32:
		return writeArray(w, tagged, depth, ValFloat32, x)
	case []bool:
		return writeArray(w, tagged, depth, ValBool, x)
	case []string:
		return writeArray(w, tagged, depth, ValString, x)
	case []uint64:
		return writeArray(w, tagged, depth, ValUint64, x)
	case []int64:
		return writeArray(w, tagged, depth, ValInt64, x)
	case []float64:
		return writeArray(w, tagged, depth, ValFloat64, x)
	case []any:
		return writeArray(w, tagged, depth, ValArray, x)
	default:
		return fmt.Errorf("unsupported metadata value type %T", v)
	}
	return nil
}

func writeArray[T any](w *Writer, tagged bool, depth int, et ValueType, xs []T) error {
	if depth >= maxNesting {
		return fmt.Errorf("arrays nested deeper than %d", maxNesting)
	}
	if tagged {
		w.u32(uint32(ValArray))
	}
	w.u32(uint32(et))
	w.u64(uint64(len(xs)))
	for _, x := range xs {
		// []any holds nested arrays; each carries its own element type and count.
		if et == ValArray && !isArray(any(x)) {
			return fmt.Errorf("array element of type %T in a nested array", x)
		}
		if err := w.value(any(x), false, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func isArray(v any) bool {
	switch v.(type) {
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []float32, []bool, []string,
		[]uint64, []int64, []float64, []any:
		return true
	}
	return false
}
