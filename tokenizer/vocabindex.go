package tokenizer

import (
	"hash/maphash"
	"math/bits"
)

// strIndex maps strings to int32 ids, as a map[string]int32 would, in 4
// bytes a slot instead of a map's ~60 bytes an entry (about 9 MB for a
// 128k vocabulary, kept for as long as the model is loaded): an
// open-addressing table of ids whose strings are compared in keys, the
// strings in id order.
type strIndex struct {
	keys  []string
	slots []int32 // id+1, 0 = empty; a power of two, at most 3/4 full
	seed  maphash.Seed
}

func newStrIndex(keys []string, capacity int) *strIndex {
	x := &strIndex{keys: keys, seed: maphash.MakeSeed()}
	x.resize(capacity)
	return x
}

func (x *strIndex) resize(capacity int) {
	x.slots = make([]int32, 1<<max(4, bits.Len(uint(capacity*4/3))))
	mask := uint64(len(x.slots) - 1)
	for id, s := range x.keys {
		h := maphash.String(x.seed, s) & mask
		for x.slots[h] != 0 {
			h = (h + 1) & mask
		}
		x.slots[h] = int32(id) + 1
	}
}

// newVocabIndex indexes the non-empty texts of tokens by position (llama.cpp
// renames empty tokens, which can never match text). A text listed twice is
// an error: dup holds its two ids.
func newVocabIndex(tokens []string) (x *strIndex, dup [2]int32, ok bool) {
	x = &strIndex{seed: maphash.MakeSeed()}
	x.resize(len(tokens))
	mask := uint64(len(x.slots) - 1)
	for i, s := range tokens {
		if s == "" {
			continue
		}
		h := maphash.String(x.seed, s) & mask
		for ; x.slots[h] != 0; h = (h + 1) & mask {
			if j := x.slots[h] - 1; tokens[j] == s {
				return nil, [2]int32{j, int32(i)}, false
			}
		}
		x.slots[h] = int32(i) + 1
	}
	x.keys = tokens
	return x, dup, true
}

// get returns the id of s.
func (x *strIndex) get(s string) (int32, bool) {
	mask := uint64(len(x.slots) - 1)
	for h := maphash.String(x.seed, s) & mask; x.slots[h] != 0; h = (h + 1) & mask {
		if id := x.slots[h] - 1; x.keys[id] == s {
			return id, true
		}
	}
	return -1, false
}

// getBytes is get for a byte slice, without converting it to a string.
func (x *strIndex) getBytes(b []byte) (int32, bool) {
	mask := uint64(len(x.slots) - 1)
	for h := maphash.Bytes(x.seed, b) & mask; x.slots[h] != 0; h = (h + 1) & mask {
		if id := x.slots[h] - 1; x.keys[id] == string(b) {
			return id, true
		}
	}
	return -1, false
}

// add gives s the next id unless it has one: it returns s's id
// and whether it was new.
func (x *strIndex) add(s string) (int32, bool) {
	if id, ok := x.get(s); ok {
		return id, false
	}
	id := int32(len(x.keys))
	x.keys = append(x.keys, s)
	if len(x.keys)*4 > len(x.slots)*3 {
		x.resize(2 * len(x.keys))
		return id, true
	}
	mask := uint64(len(x.slots) - 1)
	h := maphash.String(x.seed, s) & mask
	for x.slots[h] != 0 {
		h = (h + 1) & mask
	}
	x.slots[h] = id + 1
	return id, true
}
