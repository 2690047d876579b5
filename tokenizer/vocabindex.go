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

// newStrIndex returns an empty index with room for capacity strings.
func newStrIndex(capacity int) *strIndex {
	x := &strIndex{keys: make([]string, 0, capacity), seed: maphash.MakeSeed()}
	x.slots = make([]int32, slotsFor(capacity))
	return x
}

func slotsFor(n int) int { return 1 << max(4, bits.Len(uint(n*4/3))) }

// place puts id (its string is keys[id]) in the table, unless an equal
// string is there already: then it returns that string's id and false.
func (x *strIndex) place(id int32) (int32, bool) {
	s, mask := x.keys[id], uint64(len(x.slots)-1)
	h := maphash.String(x.seed, s) & mask
	for ; x.slots[h] != 0; h = (h + 1) & mask {
		if j := x.slots[h] - 1; x.keys[j] == s {
			return j, false
		}
	}
	x.slots[h] = id + 1
	return id, true
}

// newVocabIndex indexes the non-empty texts of tokens by position (llama.cpp
// renames empty tokens, which can never match text). A text listed twice is
// an error: dup holds its two ids.
func newVocabIndex(tokens []string) (x *strIndex, dup [2]int32, ok bool) {
	x = &strIndex{keys: tokens, slots: make([]int32, slotsFor(len(tokens))), seed: maphash.MakeSeed()}
	for i, s := range tokens {
		if s == "" {
			continue
		}
		if j, placed := x.place(int32(i)); !placed {
			return nil, [2]int32{j, int32(i)}, false
		}
	}
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

// add gives s the next id unless it has one: it returns s's id and whether
// it was new.
func (x *strIndex) add(s string) (int32, bool) {
	x.keys = append(x.keys, s)
	id, placed := x.place(int32(len(x.keys) - 1))
	if !placed {
		x.keys = x.keys[:len(x.keys)-1]
		return id, false
	}
	if len(x.keys)*4 > len(x.slots)*3 { // grow: place every string again
		x.slots = make([]int32, slotsFor(2*len(x.keys)))
		for i := range x.keys {
			x.place(int32(i))
		}
	}
	return id, true
}
