package tokenizer

import (
	"testing"
	"unicode/utf8"
)

// FuzzGemma4Encode: any input encodes without panicking into in-range ids,
// and valid UTF-8 decodes back to itself.
func FuzzGemma4Encode(f *testing.F) {
	for _, s := range sampleTexts() {
		f.Add(s)
	}
	f.Add("\n\n\n  \t tabs\tand\r\nnewlines \xff\xfe")
	f.Add("<start_of_turn>user\nhi<end_of_turn>")
	tok := loadVocabFile(f, "ggml-vocab-gemma-4.gguf")
	n := int32(tok.VocabSize())
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4<<10 {
			t.Skip() // long inputs slow the fuzzer's minimisation; TestBPELongRuns covers them
		}
		ids := tok.Encode(s, EncodeOptions{})
		for _, id := range ids {
			if id < 0 || id >= n {
				t.Fatalf("id %d out of range", id)
			}
		}
		if got := tok.Decode(ids); utf8.ValidString(s) && got != s {
			t.Fatalf("round trip of %q gave %q", s, got)
		}
	})
}
