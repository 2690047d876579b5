package tokenizer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/internal/testdata"
)

// sampleTexts is varied text for round-trip tests: scripts with and
// without vocabulary coverage, emoji (byte fallback), whitespace runs,
// digits and punctuation.
func sampleTexts() []string {
	return []string{
		"Hello world",
		" leading space",
		"  two leading spaces and trailing  ",
		"Once upon a time, there was a little girl named Lily.",
		"Ünïcödé façade naïve café résumé",
		"Привет, как дела? нещо на Български",
		"我想在apple工作1314151天～ 你好，世界！",
		"日本語のテキストです。カタカナ、ひらがな",
		"안녕하세요 세계",
		"مرحبا بالعالم",
		"שלום עולם",
		"नमस्ते दुनिया",
		"กรุงเทพมหานคร",
		"កាន់តែពិសេសអាចខលចេញ",
		"Ελληνικά κείμενα",
		"🚀 (normal) 😶‍🌫️ (multiple emojis concatenated) ✅ 🦙🦙",
		"tabs\tand\nnewlines\r\n\n\n",
		"3 33 333 3333 3.3 3..3 ------======= '''```\"\"\"......!!!!!!??????",
		"I've been 'told he's there, 'RE you sure? 'M not sure I'll make it",
		"<s> not special </s> <unk> <0x41>",
		"mixed: αβγ 123 ∑∫√ €£¥ © ® ™",
	}
}

func TestFromGGUFDefaults(t *testing.T) {
	cases := []struct {
		file             string
		model            string
		bos, eos, unk    int32
		addBOS, addSpace bool
	}{
		{"ggml-vocab-llama-spm.gguf", "llama", 1, 2, 0, true, true},
		{"ggml-vocab-phi-3.gguf", "llama", 1, 32000, 0, true, true},
		{"ggml-vocab-baichuan.gguf", "llama", 1, 2, 0, true, true}, // unk: llama default
		{"ggml-vocab-bert-bge.gguf", "bert", 101, -1, 100, true, false},
		{"ggml-vocab-llama-bpe.gguf", "gpt2", 128000, 128001, -1, true, false},
		{"ggml-vocab-gpt-2.gguf", "gpt2", 50256, 50256, -1, false, false},
		{"ggml-vocab-gemma-4.gguf", "gemma4", 2, 1, 3, true, false},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			tok := loadVocabFile(t, c.file)
			v := tok.Vocab()
			if v.Model != c.model || v.BOS != c.bos || v.EOS != c.eos || v.UNK != c.unk ||
				v.AddBOS != c.addBOS || v.AddSpacePrefix != c.addSpace {
				t.Errorf("model %q BOS %d EOS %d UNK %d AddBOS %v AddSpacePrefix %v; want %q %d %d %d %v %v",
					v.Model, v.BOS, v.EOS, v.UNK, v.AddBOS, v.AddSpacePrefix,
					c.model, c.bos, c.eos, c.unk, c.addBOS, c.addSpace)
			}
			if tok.BOS() != c.bos || tok.EOS() != c.eos || tok.AddBOS() != c.addBOS {
				t.Errorf("accessors disagree with Vocab")
			}
			if tok.VocabSize() != len(v.Tokens) {
				t.Errorf("VocabSize %d, %d tokens", tok.VocabSize(), len(v.Tokens))
			}
		})
	}
}

func TestEOG(t *testing.T) {
	cases := []struct {
		file    string
		eot     int32
		eog     []string // texts that end generation
		notEOG  []string
		wantEOS bool
	}{
		{"ggml-vocab-llama-bpe.gguf", 128009, []string{"<|end_of_text|>", "<|eot_id|>"}, []string{"<|begin_of_text|>", "<|start_header_id|>"}, true},
		{"ggml-vocab-qwen2.gguf", 151645, []string{"<|endoftext|>", "<|im_end|>"}, []string{"<|im_start|>"}, true},
		{"ggml-vocab-phi-3.gguf", 32007, []string{"<|endoftext|>", "<|end|>", "</s>"}, []string{"<|user|>", "<|assistant|>", "<s>"}, true},
		{"ggml-vocab-llama-spm.gguf", -1, []string{"</s>"}, []string{"<s>", "<unk>"}, true},
		{"ggml-vocab-gemma-4.gguf", -1, []string{"<eos>", "<turn|>", "<|tool_response>"}, []string{"<bos>", "<|turn>"}, true},
		{"ggml-vocab-starcoder.gguf", 0, []string{"<|endoftext|>", "<fim_pad>"}, []string{"<fim_prefix>", "<fim_middle>"}, true},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			tok := loadVocabFile(t, c.file)
			if c.eot >= 0 && tok.EOT() != c.eot {
				t.Errorf("EOT %d (%q), want %d (%q)", tok.EOT(), tok.Token(tok.EOT()), c.eot, tok.Token(c.eot))
			}
			for _, s := range c.eog {
				id, ok := tok.TokenID(s)
				if !ok {
					t.Fatalf("no token %q", s)
				}
				if !tok.IsEOG(id) {
					t.Errorf("%q (%d) is not end-of-generation; EOG set %v", s, id, tok.EOG())
				}
			}
			for _, s := range c.notEOG {
				if id, ok := tok.TokenID(s); ok && tok.IsEOG(id) {
					t.Errorf("%q (%d) is end-of-generation", s, id)
				}
			}
			if c.wantEOS && !tok.IsEOG(tok.EOS()) {
				t.Errorf("EOS %d is not end-of-generation", tok.EOS())
			}
			if tok.IsEOG(-1) || tok.IsEOG(int32(tok.VocabSize())) {
				t.Errorf("out-of-range id is end-of-generation")
			}
		})
	}
}

func TestSpecialParsing(t *testing.T) {
	t.Run("llama-bpe", func(t *testing.T) {
		tok := loadVocabFile(t, "ggml-vocab-llama-bpe.gguf")
		text := "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
		got := tok.Encode(text, EncodeOptions{ParseSpecial: true})
		want := []int32{128000, 128006}
		want = append(want, tok.Encode("user", EncodeOptions{})...)
		want = append(want, 128007)
		want = append(want, tok.Encode("\n\nHi", EncodeOptions{})...)
		want = append(want, 128009)
		if !slices.Equal(got, want) {
			t.Errorf("ParseSpecial: got %v, want %v", got, want)
		}
		plain := tok.Encode(text, EncodeOptions{})
		for _, id := range plain {
			if tok.IsSpecial(id) {
				t.Errorf("without ParseSpecial, special token %d (%q) in %v", id, tok.Token(id), plain)
			}
		}
		if dec := tok.Decode(plain); dec != text {
			t.Errorf("Decode(plain) = %q, want %q", dec, text)
		}
		// Specials render as nothing unless asked for.
		if dec := tok.Decode(got); dec != "user\n\nHi" {
			t.Errorf("Decode = %q", dec)
		}
		if dec := tok.DecodeWith(got, DecodeOptions{Special: true}); dec != text {
			t.Errorf("DecodeWith Special = %q, want %q", dec, text)
		}
		// AddSpecial puts BOS first; a BOS in the text is a second one.
		withBOS := tok.Encode("<|begin_of_text|>Hi", EncodeOptions{AddSpecial: true, ParseSpecial: true})
		if len(withBOS) < 3 || withBOS[0] != 128000 || withBOS[1] != 128000 {
			t.Errorf("AddSpecial+ParseSpecial: %v", withBOS)
		}
	})
	t.Run("phi-3", func(t *testing.T) {
		tok := loadVocabFile(t, "ggml-vocab-phi-3.gguf")
		// llama.cpp marks phi-3's specials rstrip: the newline after each
		// goes, and SPM's space prefix follows a special token.
		got := tok.Encode("<|user|>\nHello<|end|>\n<|assistant|>", EncodeOptions{ParseSpecial: true})
		want := []int32{32010, 15043, 32007, 32001}
		if !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
		got = tok.Encode("<|user|>\nHello", EncodeOptions{AddSpecial: true, ParseSpecial: true})
		if want := []int32{1, 32010, 15043}; !slices.Equal(got, want) {
			t.Errorf("with BOS: got %v, want %v", got, want)
		}
		plain := tok.Encode("<|user|>", EncodeOptions{})
		if slices.Contains(plain, 32010) || len(plain) < 3 {
			t.Errorf("without ParseSpecial: %v", plain)
		}
		// "</s>" is user-defined in phi-3, but llama.cpp's EOG detection
		// makes it a control token too, so plain text keeps it as text.
		ud := tok.Encode("a</s>b", EncodeOptions{})
		if slices.Contains(ud, 2) || tok.Decode(ud) != "a</s>b" {
			t.Errorf("</s> without ParseSpecial: %v", ud)
		}
	})
	t.Run("command-r", func(t *testing.T) {
		// User-defined tokens are matched even without ParseSpecial, and
		// render as text.
		tok := loadVocabFile(t, "ggml-vocab-command-r.gguf")
		text := "<|START_OF_TURN_TOKEN|>Hi<|END_OF_TURN_TOKEN|>"
		ids := tok.Encode(text, EncodeOptions{})
		if len(ids) == 0 || ids[0] != 255000 || slices.Contains(ids, 255001) {
			t.Errorf("got %v: want user-defined 255000 first and no control 255001", ids)
		}
		if got := tok.Decode(ids); got != text {
			t.Errorf("Decode = %q", got)
		}
		parsed := tok.Encode(text, EncodeOptions{ParseSpecial: true})
		if parsed[len(parsed)-1] != 255001 || tok.Decode(parsed) != "<|START_OF_TURN_TOKEN|>Hi" {
			t.Errorf("ParseSpecial: %v → %q", parsed, tok.Decode(parsed))
		}
	})
	t.Run("llama-spm", func(t *testing.T) {
		tok := loadVocabFile(t, "ggml-vocab-llama-spm.gguf")
		got := tok.Encode("<s>Hi</s>", EncodeOptions{ParseSpecial: true})
		hi := tok.Encode("Hi", EncodeOptions{})
		want := append(append([]int32{1}, hi...), 2)
		if !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
		if dec := tok.DecodeWith(got, DecodeOptions{Special: true}); dec != "<s>Hi</s>" {
			t.Errorf("DecodeWith Special = %q", dec)
		}
	})
}

// TestPartitionOrder checks llama.cpp's order: longer specials first, each
// splitting every fragment, and lstrip/rstrip.
func TestPartitionOrder(t *testing.T) {
	v := spmTestVocab()
	add := func(s string, typ int32) int32 {
		v.Tokens = append(v.Tokens, s)
		v.Scores = append(v.Scores, 0)
		v.Types = append(v.Types, typ)
		return int32(len(v.Tokens) - 1)
	}
	ab := add("<ab>", TypeControl)
	abc := add("<ab>c", TypeControl)
	ud := add("[u]", TypeUserDefined)
	tok, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	frags := tok.partition("x<ab>c<ab>[u]y", true)
	var ids []int32
	for _, f := range frags {
		ids = append(ids, f.id)
	}
	if want := []int32{-1, abc, ab, ud, -1}; !slices.Equal(ids, want) {
		t.Errorf("fragments %v, want ids %v", frags, want)
	}
	frags = tok.partition("x<ab>c<ab>[u]y", false)
	ids = ids[:0]
	for _, f := range frags {
		ids = append(ids, f.id)
	}
	if want := []int32{-1, ud, -1}; !slices.Equal(ids, want) {
		t.Errorf("without ParseSpecial: fragments %v, want ids %v", frags, want)
	}

	tok.attrs[ud] |= attrLstrip | attrRstrip
	frags = tok.partition("a \t[u]\n b", false)
	if len(frags) != 3 || frags[0].end != 1 || frags[2].start != 8 {
		t.Errorf("lstrip/rstrip: %v", frags)
	}
	if frags := tok.partition("  [u]  ", false); len(frags) != 1 || frags[0].id != ud {
		t.Errorf("all-space remainders: %v", frags)
	}
}

func TestEncodeAddSpecial(t *testing.T) {
	tok := loadVocabFile(t, "ggml-vocab-llama-spm.gguf")
	if got := tok.Encode("", EncodeOptions{AddSpecial: true}); !slices.Equal(got, []int32{1}) {
		t.Errorf("empty text with BOS: %v", got)
	}
	if got := tok.Encode("", EncodeOptions{}); len(got) != 0 {
		t.Errorf("empty text: %v", got)
	}
	got := tok.Encode("Hello world", EncodeOptions{AddSpecial: true})
	if want := []int32{1, 15043, 3186}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	bert := loadVocabFile(t, "ggml-vocab-bert-bge.gguf")
	got = bert.Encode("Hello world", EncodeOptions{AddSpecial: true})
	if len(got) < 3 || got[0] != 101 || got[len(got)-1] != 102 {
		t.Errorf("bert: %v, want [CLS] … [SEP]", got)
	}
	if dec := bert.Decode(got); dec != " hello world" {
		t.Errorf("bert Decode = %q", dec)
	}
}

// TestRoundTrip checks decode(encode(s)) == s where the tokenizer is
// lossless: SPM with byte fallback (the prefix space undone) and byte-level
// BPE.
func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"ggml-vocab-llama-spm.gguf", "ggml-vocab-phi-3.gguf", "ggml-vocab-baichuan.gguf",
		"ggml-vocab-llama-bpe.gguf", "ggml-vocab-qwen2.gguf"} {
		t.Run(name, func(t *testing.T) {
			tok := loadVocabFile(t, name)
			for _, s := range sampleTexts() {
				for _, opts := range []EncodeOptions{{}, {AddSpecial: true}} {
					ids := tok.Encode(s, opts)
					if opts.AddSpecial && tok.AddBOS() && (len(ids) == 0 || ids[0] != tok.BOS()) {
						t.Errorf("%q: no BOS in %v", s, ids)
					}
					for _, id := range ids {
						if id < 0 || int(id) >= tok.VocabSize() {
							t.Fatalf("%q: id %d out of range", s, id)
						}
					}
					if got := tok.Decode(ids); got != s {
						t.Errorf("%q (%+v): decode(encode) = %q\nids %v", s, opts, got, ids)
					}
				}
			}
		})
	}
}

// TestBaichuan loads the SPM vocabulary that has no test cases and checks
// byte fallback for text it does not cover.
func TestBaichuan(t *testing.T) {
	tok := loadVocabFile(t, "ggml-vocab-baichuan.gguf")
	if tok.VocabSize() != 64000 {
		t.Fatalf("VocabSize %d", tok.VocabSize())
	}
	ids := tok.Encode("🦙", EncodeOptions{})
	var bytesSeen int
	for _, id := range ids {
		if _, ok := parseByteToken(tok.Token(id)); ok {
			bytesSeen++
		}
	}
	if bytesSeen == 0 {
		t.Logf("🦙 = %v (no byte fallback needed)", ids)
	}
	if got := tok.Decode(ids); got != "🦙" {
		t.Errorf("Decode = %q", got)
	}
}

// TestStories260K checks the tiny llama's SPM tokenizer against an
// independent implementation of llama2.c's encoder over its tok512.bin.
func TestStories260K(t *testing.T) {
	dir := filepath.Join("models", "stories260K")
	f, err := gguf.Open(testdata.SharedFile(t, filepath.Join(dir, "stories260K.gguf")))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 512 {
		t.Fatalf("VocabSize %d", tok.VocabSize())
	}
	got := tok.Encode("Once upon a time", EncodeOptions{AddSpecial: true})
	if want := []int32{1, 403, 407, 261, 378}; !slices.Equal(got, want) {
		t.Errorf("Once upon a time: %v, want %v", got, want)
	}

	ref := readLlama2cTokenizer(t, testdata.SharedFile(t, filepath.Join(dir, "tok512.bin")))
	golden, err := os.ReadFile(testdata.SharedFile(t, filepath.Join(dir, "golden_outputs_llama2c.txt")))
	if err != nil {
		t.Fatal(err)
	}
	texts := append([]string{"Once upon a time", "There was a big", "x", "Hello, World! 123", "é ü 😀 中"},
		strings.Split(string(golden), "\n")...)
	for _, s := range texts {
		if s == "" || strings.HasPrefix(s, "#") || strings.HasPrefix(s, "===") {
			continue
		}
		got := tok.Encode(s, EncodeOptions{AddSpecial: true})
		want := append([]int32{1}, ref.encode(s)...)
		if !slices.Equal(got, want) {
			t.Errorf("%q:\n got %v\nwant %v (llama2.c)", s, got, want)
		}
		if dec := tok.Decode(got); dec != s {
			t.Errorf("decode(encode(%q)) = %q", s, dec)
		}
	}
	// Byte fallback: the emoji is not in the 512-token vocabulary.
	ids := tok.Encode("😀", EncodeOptions{})
	var names []string
	for _, id := range ids {
		names = append(names, tok.Token(id))
	}
	if want := []string{"▁", "<0xF0>", "<0x9F>", "<0x98>", "<0x80>"}; !slices.Equal(names, want) {
		t.Errorf("😀 = %v %q, want %q", ids, names, want)
	}
	if got := tok.Decode(ids); got != "😀" {
		t.Errorf("Decode = %q", got)
	}
}

// llama2c is llama2.c's tokenizer (run.c, encode), written from its
// description as a cross-check: the text gets a dummy-prefix space, each
// UTF-8 character becomes its token or its bytes (id = byte + 3), then the
// highest-scoring adjacent pair is merged, first occurrence on ties, until
// none merges.
type llama2c struct {
	vocab  []string
	scores []float32
	ids    map[string]int
}

func readLlama2cTokenizer(t *testing.T, path string) *llama2c {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := &llama2c{ids: map[string]int{}}
	off := 4 // max_token_length
	for off+8 <= len(data) {
		score := math.Float32frombits(binary.LittleEndian.Uint32(data[off:]))
		n := int(binary.LittleEndian.Uint32(data[off+4:]))
		off += 8
		if off+n > len(data) {
			t.Fatalf("%s: truncated", path)
		}
		s := string(data[off : off+n])
		off += n
		r.ids[s] = len(r.vocab)
		r.vocab = append(r.vocab, s)
		r.scores = append(r.scores, score)
	}
	return r
}

func (r *llama2c) encode(text string) []int32 {
	var toks []int
	if text != "" {
		toks = append(toks, r.ids[" "])
	}
	for _, ch := range strings.SplitAfter(text, "") { // one string per UTF-8 character
		if id, ok := r.ids[ch]; ok {
			toks = append(toks, id)
			continue
		}
		for i := 0; i < len(ch); i++ {
			toks = append(toks, int(ch[i])+3)
		}
	}
	for {
		best, bestID, bestIdx := float32(-1e10), -1, -1
		for i := 0; i+1 < len(toks); i++ {
			if id, ok := r.ids[r.vocab[toks[i]]+r.vocab[toks[i+1]]]; ok && r.scores[id] > best {
				best, bestID, bestIdx = r.scores[id], id, i
			}
		}
		if bestIdx < 0 {
			break
		}
		toks[bestIdx] = bestID
		toks = slices.Delete(toks, bestIdx+1, bestIdx+2)
	}
	out := make([]int32, len(toks))
	for i, id := range toks {
		out[i] = int32(id)
	}
	return out
}

// TestStreamingDecoder checks that a Decoder never emits half a character
// and that its output adds up to the text.
func TestStreamingDecoder(t *testing.T) {
	check := func(t *testing.T, tok *Tokenizer, text string, wantBytes bool) {
		t.Helper()
		ids := tok.Encode(text, EncodeOptions{AddSpecial: true})
		byteToks := 0
		for _, id := range ids {
			if tok.attrs[id]&attrByte != 0 {
				byteToks++
			}
		}
		if wantBytes && byteToks < 2 {
			t.Fatalf("%q: expected byte-fallback tokens, got %v", text, ids)
		}
		d := tok.NewDecoder()
		var sb strings.Builder
		for _, id := range ids {
			out := d.Add(id)
			if !utf8.ValidString(out) {
				t.Errorf("%q: Add(%d) = %q, not valid UTF-8", text, id, out)
			}
			sb.WriteString(out)
		}
		sb.WriteString(d.Flush())
		if sb.String() != text {
			t.Errorf("streamed %q, want %q", sb.String(), text)
		}
	}
	t.Run("synthetic", func(t *testing.T) {
		tok, err := New(spmTestVocab())
		if err != nil {
			t.Fatal(err)
		}
		check(t, tok, "ab 😀 € 世界 🦙 abc", true)
	})
	for _, name := range []string{"ggml-vocab-llama-spm.gguf", "ggml-vocab-gemma-4.gguf", "ggml-vocab-llama-bpe.gguf"} {
		t.Run(name, func(t *testing.T) {
			tok := loadVocabFile(t, name)
			for _, s := range sampleTexts() {
				check(t, tok, s, false)
			}
			if name == "ggml-vocab-llama-spm.gguf" {
				check(t, tok, "𝄞 🦙 ꙮ 𓀀", true)
			}
		})
	}
}

func TestDecoderInvalid(t *testing.T) {
	tok, err := New(spmTestVocab())
	if err != nil {
		t.Fatal(err)
	}
	b := func(c byte) int32 { return 3 + int32(c) } // <0xXX> ids in spmTestVocab
	d := tok.NewDecoder()
	// An incomplete 4-byte sequence, then a character that cannot continue it.
	var got []string
	for _, id := range []int32{b(0xF0), b(0x9F), b('a'), b(0xE2), b(0x82)} {
		got = append(got, d.Add(id))
	}
	got = append(got, d.Flush())
	want := []string{"", "", "\uFFFD\uFFFDa", "", "", "\uFFFD\uFFFD"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// A stray continuation byte is replaced at once.
	d = tok.NewDecoder()
	if out := d.Add(b(0x80)); out != "\uFFFD" {
		t.Errorf("stray continuation: %q", out)
	}
	// Out-of-range and special ids decode to nothing.
	for _, id := range []int32{-1, -1 << 31, int32(tok.VocabSize()), 1 << 30, 0, 1, 2} {
		if out := d.Add(id); out != "" {
			t.Errorf("Add(%d) = %q", id, out)
		}
		if p := tok.Piece(id); len(p) != 0 {
			t.Errorf("Piece(%d) = %q", id, p)
		}
	}
	if got := tok.Decode([]int32{-5, 99999, 1 << 30}); got != "" {
		t.Errorf("Decode of out-of-range ids = %q", got)
	}
}

func TestDecodePrefixSpace(t *testing.T) {
	tok, err := New(spmTestVocab())
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode("ab ab", EncodeOptions{AddSpecial: true})
	if got := tok.Decode(ids); got != "ab ab" {
		t.Errorf("Decode = %q", got)
	}
	if got := tok.DecodeWith(ids, DecodeOptions{KeepPrefixSpace: true}); got != " ab ab" {
		t.Errorf("KeepPrefixSpace: %q", got)
	}
	if got := tok.DecodeWith(ids, DecodeOptions{Special: true}); got != "<s>ab ab" {
		t.Errorf("Special: %q", got)
	}
	// Only one space goes, and only from the first token.
	ids = tok.Encode("  ab", EncodeOptions{})
	if got := tok.Decode(ids); got != "  ab" {
		t.Errorf("Decode = %q (ids %v)", got, ids)
	}
	d := tok.NewDecoderWith(DecodeOptions{KeepPrefixSpace: true})
	if got := d.Add(ids[0]); !strings.HasPrefix(got, " ") {
		t.Errorf("continuation decoder dropped the space: %q", got)
	}
}

func TestNewErrors(t *testing.T) {
	base := func() *Vocab { return spmTestVocab() }
	cases := []struct {
		name   string
		mutate func(v *Vocab)
		want   string
	}{
		{"unknown model", func(v *Vocab) { v.Model = "rwkv" }, "supported: llama"},
		{"no tokens", func(v *Vocab) { v.Tokens, v.Scores, v.Types = nil, nil, nil }, "no tokens"},
		{"scores", func(v *Vocab) { v.Scores = v.Scores[:3] }, "scores"},
		{"types", func(v *Vocab) { v.Types = append(v.Types, 1) }, "token types"},
		{"bos range", func(v *Vocab) { v.BOS = int32(len(v.Tokens)) }, "BOS id"},
		{"unk negative", func(v *Vocab) { v.UNK = -7 }, "UNK id"},
		{"eog range", func(v *Vocab) { v.EOG = []int32{1 << 20} }, "end-of-generation"},
		{"add bos", func(v *Vocab) { v.BOS = -1 }, "add_bos"},
		{"duplicate", func(v *Vocab) { v.Tokens[len(v.Tokens)-1] = v.Tokens[len(v.Tokens)-2] }, "duplicate"},
		{"nil", nil, "nil"},
	}
	for _, c := range cases {
		var v *Vocab
		if c.mutate != nil {
			v = base()
			c.mutate(v)
		}
		_, err := New(v)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	v := base()
	v.Model = "rwkv"
	if _, err := New(v); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("unknown model error %v does not wrap ErrUnknownModel", err)
	}
}

// ggufBytes serialises metadata into an in-memory GGUF file.
func ggufFile(t *testing.T, kvs []gguf.KV) *gguf.File {
	t.Helper()
	var buf bytes.Buffer
	w, err := gguf.NewWriter(&buf, kvs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFromGGUFSynthetic(t *testing.T) {
	tokens := []string{"<unk>", "<s>", "</s>", "▁a", "a", "<|im_end|>"}
	kv := func(model string, extra ...gguf.KV) []gguf.KV {
		return append([]gguf.KV{
			{Key: "general.architecture", Value: "llama"},
			{Key: "tokenizer.ggml.model", Value: model},
			{Key: "tokenizer.ggml.tokens", Value: tokens},
		}, extra...)
	}
	f := ggufFile(t, kv("llama",
		gguf.KV{Key: "tokenizer.ggml.scores", Value: []int32{0, 0, 0, -1, -2, 0}},
		gguf.KV{Key: "tokenizer.ggml.eos_token_id", Value: uint32(99)}, // out of range: default stays
		gguf.KV{Key: "tokenizer.ggml.add_space_prefix", Value: false},
	))
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	v := tok.Vocab()
	if v.EOS != 2 || v.BOS != 1 || v.AddSpacePrefix || !v.AddBOS || v.Scores[4] != -2 {
		t.Errorf("vocab %+v", v)
	}
	if tok.EOT() != 5 || !tok.IsEOG(5) || !tok.IsSpecial(5) {
		t.Errorf("<|im_end|> not detected as EOT: EOT %d EOG %v", tok.EOT(), tok.EOG())
	}
	if got := tok.Encode("a", EncodeOptions{}); !slices.Equal(got, []int32{4}) {
		t.Errorf("no space prefix: %v", got)
	}

	for _, c := range []struct {
		kvs  []gguf.KV
		want string
	}{
		{kv("rwkv"), "supported"},
		{[]gguf.KV{{Key: "tokenizer.ggml.tokens", Value: tokens}}, "no tokenizer.ggml.model"},
		{kv("gpt2"), "merges"},
		{kv("llama", gguf.KV{Key: "tokenizer.ggml.scores", Value: []string{"x"}}), "scores"},
		{kv("llama", gguf.KV{Key: "tokenizer.ggml.scores", Value: []float32{1}}), "scores"},
		{kv("llama", gguf.KV{Key: "tokenizer.ggml.token_type", Value: []string{"x"}}), "token_type"},
		{[]gguf.KV{{Key: "tokenizer.ggml.model", Value: "llama"}}, "tokens"},
	} {
		if _, err := FromGGUF(ggufFile(t, c.kvs)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one mentioning %q", c.kvs, err, c.want)
		}
	}

	none, err := FromGGUF(ggufFile(t, []gguf.KV{
		{Key: "general.architecture", Value: "mamba"},
		{Key: "tokenizer.ggml.model", Value: "none"},
		{Key: "mamba.vocab_size", Value: uint32(7)},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if none.VocabSize() != 7 || none.Encode("hi", EncodeOptions{AddSpecial: true}) != nil || none.Decode([]int32{1, 2}) != "" {
		t.Errorf("vocab-less tokenizer misbehaves")
	}
}

// FuzzDecode feeds arbitrary id sequences, in range or not, to Decode, Piece
// and the streaming Decoder.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{}, false)
	f.Add([]byte{1, 0, 4, 1, 8, 1, 9, 1}, false)
	f.Add([]byte{0xff, 0xff, 0xfe, 0xff, 0, 0, 3, 0}, true)
	toks := []*Tokenizer{}
	for _, v := range []*Vocab{spmTestVocab(), wpmTestVocab()} {
		tok, err := New(v)
		if err != nil {
			f.Fatal(err)
		}
		toks = append(toks, tok)
	}
	for _, name := range []string{"ggml-vocab-llama-spm.gguf", "ggml-vocab-llama-bpe.gguf", "ggml-vocab-gemma-4.gguf"} {
		if tok := optionalVocab(f, name); tok != nil {
			toks = append(toks, tok)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, special bool) {
		for _, tok := range toks {
			// Two bytes per id, spread a little beyond the vocabulary on
			// both sides, with the extremes of int32 mixed in.
			n := tok.VocabSize()
			ids := make([]int32, 0, len(data)/2)
			for i := 0; i+1 < len(data); i += 2 {
				u := int(data[i]) | int(data[i+1])<<8
				switch u {
				case 0xffff:
					ids = append(ids, math.MinInt32)
				case 0xfffe:
					ids = append(ids, math.MaxInt32)
				default:
					if n < 0xf000 {
						u %= n + 8
					} else {
						u = u * (n + 8) / 0xfffe // reach the whole of a big vocabulary
					}
					ids = append(ids, int32(u-4))
				}
			}
			opts := DecodeOptions{Special: special}
			whole := tok.DecodeWith(ids, opts)
			var cat []byte
			strip := tok.stripIndex(ids, opts)
			for i, id := range ids {
				p := tok.appendPiece(nil, id, special)
				if i == strip && len(p) > 0 && p[0] == ' ' {
					p = p[1:]
				}
				cat = append(cat, p...)
				if !special && !bytes.Equal(tok.Piece(id), tok.appendPiece(nil, id, false)) {
					t.Fatalf("Piece(%d) differs from the decoder's piece", id)
				}
			}
			if string(cat) != whole {
				t.Fatalf("Decode %q != concatenated pieces %q", whole, cat)
			}
			d := tok.NewDecoderWith(opts)
			var sb strings.Builder
			for _, id := range ids {
				out := d.Add(id)
				if !utf8.ValidString(out) {
					t.Fatalf("Add(%d) = %q is not valid UTF-8", id, out)
				}
				sb.WriteString(out)
			}
			sb.WriteString(d.Flush())
			if want := string([]rune(whole)); sb.String() != want {
				t.Fatalf("streamed %q, want %q", sb.String(), want)
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	text := strings.Repeat(strings.Join(sampleTexts(), "\n"), 20)
	for _, name := range []string{"ggml-vocab-llama-spm.gguf", "ggml-vocab-bert-bge.gguf"} {
		b.Run(name, func(b *testing.B) {
			tok := loadVocabFile(b, name)
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				tok.Encode(text, EncodeOptions{AddSpecial: true, ParseSpecial: true})
			}
		})
	}
}

func BenchmarkDecoder(b *testing.B) {
	tok := loadVocabFile(b, "ggml-vocab-llama-spm.gguf")
	text := strings.Repeat(strings.Join(sampleTexts(), "\n"), 20)
	ids := tok.Encode(text, EncodeOptions{})
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		d := tok.NewDecoder()
		for _, id := range ids {
			d.Add(id)
		}
		d.Flush()
	}
}

// TestConcurrentUse shares one Tokenizer between goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	toks := []*Tokenizer{}
	for _, v := range []*Vocab{spmTestVocab(), wpmTestVocab()} {
		tok, err := New(v)
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	done := make(chan bool)
	for g := range 4 {
		go func() {
			defer func() { done <- true }()
			for i, s := range sampleTexts() {
				tok := toks[(g+i)%len(toks)]
				ids := tok.Encode(s, EncodeOptions{AddSpecial: true, ParseSpecial: g%2 == 0})
				tok.Decode(ids)
			}
		}()
	}
	for range 4 {
		<-done
	}
}

// TestEncodeSegments: specials are parsed only in template segments, and
// text runs are tokenized across segment boundaries.
func TestEncodeSegments(t *testing.T) {
	tok := loadVocabFile(t, "ggml-vocab-qwen2.gguf")
	segs := []Segment{{"<|im_start|>user\n", true}, {"Hello <|im_end|> wor", false}, {"ld<|im_end|>\n", true}}
	got := tok.EncodeSegments(segs, false)
	whole := tok.Encode("Hello <|im_end|> world", EncodeOptions{})
	start := tok.Encode("<|im_start|>user\n", EncodeOptions{ParseSpecial: true})
	end := tok.Encode("<|im_end|>\n", EncodeOptions{ParseSpecial: true})
	want := append(append(append([]int32{}, start...), whole...), end...)
	if !slices.Equal(got, want) {
		t.Errorf("EncodeSegments = %v, want %v", got, want)
	}
}
