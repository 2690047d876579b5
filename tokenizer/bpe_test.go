package tokenizer

import (
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/internal/testdata"
)

// loadBPETokenizer opens one of llama.cpp's vocab GGUF files and returns the
// tokenizer and its BPE encoder.
func loadBPETokenizer(tb testing.TB, name string) (*Tokenizer, *bpe) {
	tb.Helper()
	f, err := gguf.Open(testdata.SharedFile(tb, filepath.Join("tokenizer", name)))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	tok, err := FromGGUF(f)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	b, ok := tok.enc.(*bpe)
	if !ok {
		tb.Fatalf("%s: encoder is %T, not BPE", name, tok.enc)
	}
	return tok, b
}

// decodePieces concatenates the pieces of ids.
func decodePieces(b *bpe, ids []int32) string {
	var buf []byte
	for _, id := range ids {
		buf = b.piece(id, buf)
	}
	return string(buf)
}

// llamaText is text as llama.cpp's tokenizer sees it: malformed UTF-8
// decoded leniently and re-encoded (U+FFFD for bad bytes).
func llamaText(s string) string {
	var b []byte
	for i := 0; i < len(s); {
		cp, n := decodeLenient(s, i)
		b = appendCodePoint(b, cp)
		i += n
	}
	return string(b)
}

// multilingual is a varied sample for round trips and benchmarks.
const multilingual = "Hello, world! It's a test: don't we'll I'M you'RE 12345 3.14159 1,000,000\n" +
	"\tTabs\tand  double  spaces   and trailing   \n\r\n\n\n" +
	"func main() {\n\tfmt.Println(\"hi\") // comment\n\tx := a[i]+b<<2 != c && d || !e\n}\n" +
	"Les élèves ont mangé des crêpes à Noël. Straße, Ærø, øre, naïve café.\n" +
	"Привет, как дела? Нещо на български. Ελληνικά γράμματα.\n" +
	"我想在apple工作1314151天～ 日本語のテキスト、カタカナとひらがな。 한국어 텍스트입니다.\n" +
	"مرحبا بالعالم — שלום עולם — नमस्ते दुनिया — สวัสดีชาวโลก — ကာန់តែពិសេស\n" +
	"Emoji: 🚀🦙😶‍🌫️✅👍🏽 👨‍👩‍👧‍👦 flags 🇯🇵🇫🇷 math ∑∫√∞ ≠ ≤ ≥ ½ ² ³ ⅞ Ⅻ\n" +
	"Odd space\u00a0nbsp\u2009thin\u3000ideographic\u0085nel\u2028ls\u000bvt\u001cfs end   "

func TestBPERoundTrip(t *testing.T) {
	for _, name := range []string{"ggml-vocab-gpt-neox.gguf", "ggml-vocab-gpt-2.gguf", "ggml-vocab-llama-bpe.gguf",
		"ggml-vocab-qwen35.gguf", "ggml-vocab-deepseek-llm.gguf", "ggml-vocab-falcon.gguf", "ggml-vocab-gemma-4.gguf"} {
		t.Run(name, func(t *testing.T) {
			_, b := loadBPETokenizer(t, name)
			for _, line := range append(strings.SplitAfter(multilingual, "\n"), multilingual, "", " ", "\n", "a", "   x  ") {
				ids := b.encode(line, nil)
				if got, want := decodePieces(b, ids), droppingUntokenizable(b, line); got != want {
					t.Errorf("round trip of %q:\n got %q\n ids %v", line, got, ids)
				}
			}
		})
	}
}

// droppingUntokenizable removes the bytes that a byte-level vocabulary has
// no token for (Falcon lacks some control characters): llama.cpp drops them.
func droppingUntokenizable(b *bpe, s string) string {
	if !b.byteLevel {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if id := b.byteSym[s[i]]; id >= 0 && b.pieceTok[id] >= 0 {
			out = append(out, s[i])
		}
	}
	return string(out)
}

// TestBPEConcurrent encodes from several goroutines at once (run with -race).
func TestBPEConcurrent(t *testing.T) {
	_, b := loadBPETokenizer(t, "ggml-vocab-qwen2.gguf")
	lines := strings.SplitAfter(multilingual, "\n")
	want := make([][]int32, len(lines))
	for i, l := range lines {
		want[i] = b.encode(l, nil)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for iter := range 50 {
				i := (g + iter) % len(lines)
				if got := b.encode(lines[i], nil); !equalIDs(got, want[i]) {
					t.Errorf("line %d: got %v, want %v", i, got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestBPEGPTNeoX checks the vocabulary without a pre key: llama.cpp's
// default expressions.
func TestBPEGPTNeoX(t *testing.T) {
	tok, b := loadBPETokenizer(t, "ggml-vocab-gpt-neox.gguf")
	if b.pre.name != "" || tok.Vocab().Pre != "" {
		t.Fatalf("pre = %q, want none", b.pre.name)
	}
	ids := b.encode(" Hello world", nil)
	want := []string{"ĠHello", "Ġworld"}
	if len(ids) != len(want) {
		t.Fatalf("ids %v, want tokens %q", ids, want)
	}
	for i, id := range ids {
		if got := tok.Vocab().Tokens[id]; got != want[i] {
			t.Errorf("token %d = %q, want %q", i, got, want[i])
		}
	}
}

// TestBPEInvalidUTF8 checks that malformed input is tokenized as llama.cpp
// sees it (U+FFFD per bad byte) and that pieces reassemble split characters.
func TestBPEInvalidUTF8(t *testing.T) {
	_, b := loadBPETokenizer(t, "ggml-vocab-gpt-2.gguf")
	for _, s := range []string{"\xff", "a\x80b", "\xe2\x82", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ok\xf0\x9f\x98"} {
		ids := b.encode(s, nil)
		if got, want := decodePieces(b, ids), llamaText(s); got != want {
			t.Errorf("%q: decoded %q, want %q", s, got, want)
		}
		if want := b.encode(llamaText(s), nil); !equalIDs(ids, want) {
			t.Errorf("%q: ids %v, want those of %q: %v", s, ids, llamaText(s), want)
		}
	}
	// A character split across tokens decodes to its exact bytes.
	ids := b.encode("🦙", nil)
	if len(ids) < 2 {
		t.Fatalf("🦙 is one token %v; want a split character for this check", ids)
	}
	var buf []byte
	for _, id := range ids {
		buf = b.piece(id, buf)
	}
	if string(buf) != "🦙" {
		t.Errorf("pieces %q", buf)
	}
}

func TestBPEUnknownPre(t *testing.T) {
	v := &Vocab{Model: "gpt2", Pre: "no-such-pre", Tokens: []string{"a", "b", "ab"}, Merges: []string{"a b"}}
	_, err := newBPE(v)
	if err == nil || !strings.Contains(err.Error(), "no-such-pre") || !strings.Contains(err.Error(), "llama-bpe") {
		t.Fatalf("err = %v, want one naming the value and the supported ones", err)
	}
}

// TestBPETinyVocab checks the merge order and fallbacks on a vocabulary small
// enough to reason about.
func TestBPETinyVocab(t *testing.T) {
	v := &Vocab{Model: "gpt2", Pre: "gpt-2",
		Tokens: []string{"a", "b", "c", "ab", "bc", "abc", "Ġ", "Ġa"},
		Merges: []string{"b c", "a b", "ab c", "a bc", "Ġ a"}}
	enc, err := newBPE(v)
	if err != nil {
		t.Fatal(err)
	}
	b := enc.(*bpe)
	for _, c := range []struct {
		in   string
		want []int32
	}{
		{"abc", []int32{5}},        // "b c" (rank 0) before "a b" (rank 1), then "a bc"
		{"ab", []int32{3}},         // "a b"
		{"a ab", []int32{0, 6, 3}}, // pieces "a", "Ġab": "a b" outranks "Ġ a"
		{"x", nil},                 // neither x nor its byte is a token: dropped, as in llama.cpp
	} {
		if got := b.encode(c.in, nil); !equalIDs(got, c.want) {
			t.Errorf("%q: got %v, want %v", c.in, got, c.want)
		}
	}
}

// TestBPEMergePaths checks that the scanning merge used for short pieces
// and llama.cpp's priority queue agree.
func TestBPEMergePaths(t *testing.T) {
	for _, name := range []string{"ggml-vocab-llama-bpe.gguf", "ggml-vocab-gemma-4.gguf"} {
		_, b := loadBPETokenizer(t, name)
		rng := rand.New(rand.NewPCG(3, 4))
		words := strings.Fields(multilingual + strings.Repeat(" aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 2))
		for iter := 0; iter < 2000; iter++ {
			w := words[rng.IntN(len(words))]
			for rng.IntN(3) > 0 {
				w += words[rng.IntN(len(words))]
			}
			small := b.symbols(nil, w)
			b.mergeSmall(small)
			heap := b.symbols(nil, w)
			b.mergeHeap(heap, nil)
			for i := range small {
				if small[i].n != heap[i].n || (small[i].n > 0 && small[i].id != heap[i].id) {
					t.Fatalf("%s %q: symbol %d: scan %+v, heap %+v", name, w, i, small[i], heap[i])
				}
			}
		}
	}
}

// TestBPELongRuns encodes 1 MB of one repeated character: every stage must
// stay near-linear.
func TestBPELongRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	_, b := loadBPETokenizer(t, "ggml-vocab-llama-bpe.gguf")
	_, d := loadBPETokenizer(t, "ggml-vocab-deepseek-llm.gguf")
	_, g := loadBPETokenizer(t, "ggml-vocab-gemma-4.gguf")
	for _, c := range []string{"a", " ", "1", "!", "\n", "é", "中", "🦙", "\xff"} {
		s := strings.Repeat(c, (1<<20)/len(c))
		for _, enc := range []*bpe{b, d, g} {
			start := time.Now()
			ids := enc.encode(s+"x", nil)
			if el := time.Since(start); el > 10*time.Second {
				t.Errorf("%s %q×%d: %v", enc.pre.name, c, len(s)/len(c), el)
			}
			if got := decodePieces(enc, ids); got != llamaText(s+"x") {
				t.Errorf("%s %q: round trip differs", enc.pre.name, c)
			}
		}
	}
}

// TestPreTokenizerRegexOracle compares the hand-written scanners of the
// expressions llama.cpp runs through std::regex with Go's regexp, whose
// leftmost-first matching agrees with ECMAScript's for expressions without
// lookahead. Go's \s lacks \v, and llama.cpp turns non-ASCII whitespace into
// \v first, so the oracle does both too.
func TestPreTokenizerRegexOracle(t *testing.T) {
	const ws = `[\t\n\v\f\r ]`
	ds := func(ranges [][2]rune) string {
		var sb strings.Builder
		for _, r := range ranges {
			sb.WriteString(regexp.QuoteMeta(string(r[0])))
			if r[1] != r[0] {
				sb.WriteString("-" + regexp.QuoteMeta(string(r[1])))
			}
		}
		return sb.String()
	}
	cases := []struct {
		pre    string
		oracle []string // "" marks a stage the oracle takes from our own splitter
	}{
		{"deepseek-llm", []string{`[\r\n]`, ws + `?[` + ds(deepseekLetterRanges()) + `]+`,
			ws + `?[` + ds(deepseekPunctRanges()) + `]+`, ws + `+$`, `[` + ds(deepseekCJKRanges()) + `]+`, `\pN+`}},
		{"deepseek-coder", []string{`[\r\n]`, ws + `?\pL+`, ws + `?\pP+`, `[` + ds(deepseekCJKRanges()) + `]+`, `\pN`}},
		{"falcon", []string{`[\pP\$\+<=>\^~\|]+`, "", `[0-9][0-9][0-9]`}},
		{"default", []string{`[\pP\$\+<=>\^~\|]+`, "", `\pN+`, `[0-9][0-9][0-9]`}},
		{"starcoder", []string{`\pN`, ""}},
		{"gemma4", []string{`[^\n]+|[\n]+`}},
	}
	palette := []rune("aZé µ\t\n\r\v\u00a0\u3000\u2028!?$+~`|.,'s中한語ｶ١٢3٣7ⅫΩΩKK🦙\u0301\u200d\x1c-_/:@{}")
	rng := rand.New(rand.NewPCG(1, 2))
	tab := newCharTable()
	for _, c := range cases {
		pre, err := preTokenizerFor(c.pre)
		if err != nil {
			t.Fatal(err)
		}
		res := make([]*regexp.Regexp, len(c.oracle))
		for i, e := range c.oracle {
			if e != "" {
				res[i] = regexp.MustCompile(e)
			}
		}
		for iter := 0; iter < 3000; iter++ {
			n := rng.IntN(24)
			rs := make([]rune, n)
			for i := range rs {
				rs[i] = palette[rng.IntN(len(palette))]
			}
			text := string(rs)
			var st splitText
			st.reset(tab, text)
			bounds, _ := pre.split(&st, nil, nil)
			got := piecesOf(&st, bounds)

			want := []string{text}
			if text == "" {
				want = nil
			}
			for i, re := range res {
				var next []string
				for _, p := range want {
					if re == nil {
						var ps splitText
						ps.reset(tab, p)
						b := splitBy(&ps, pre.stages[i], []int{len(ps.cps)}, nil)
						next = append(next, piecesOf(&ps, b)...)
						continue
					}
					next = append(next, regexSplit(re, tab, p)...)
				}
				want = next
			}
			if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
				t.Fatalf("%s %q:\n got %q\nwant %q", c.pre, text, got, want)
			}
		}
	}
}

// TestPreTokenizerLookaheadOracle checks the single-expression splitters
// (GPT-2, Llama 3, Qwen2, Qwen3.5) against Go's regexp for every
// alternative before \s+(?!\S)|\s+, which Go cannot express; the oracle
// applies that lookahead rule by hand.
func TestPreTokenizerLookaheadOracle(t *testing.T) {
	const s, sn = `[\t\n\v\f\r ]`, `\t\n\v\f\r `
	contr := `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`
	cases := []struct{ pre, expr string }{
		{"gpt-2", `'s|'t|'re|'ve|'m|'ll|'d| ?\pL+| ?\pN+| ?[^` + sn + `\pL\pN]+`},
		{"llama-bpe", contr + `|[^\r\n\pL\pN]?\pL+|\pN{1,3}| ?[^` + sn + `\pL\pN]+[\r\n]*|` + s + `*[\r\n]+`},
		{"qwen2", contr + `|[^\r\n\pL\pN]?\pL+|\pN| ?[^` + sn + `\pL\pN]+[\r\n]*|` + s + `*[\r\n]+`},
		{"qwen35", contr + `|[^\r\n\pL\pN]?[\pL\pM]+|\pN| ?[^` + sn + `\pL\pM\pN]+[\r\n]*|` + s + `*[\r\n]+`},
	}
	palette := []rune("aZé µ\t\n\r\v\u00a0\u3000!?$~`|.,'''''sStTrReEvVmMlLdDx中3٣Ⅻ🦙\u0301\u093f\u200d\x1c-")
	rng := rand.New(rand.NewPCG(5, 6))
	tab := newCharTable()
	for _, c := range cases {
		pre, err := preTokenizerFor(c.pre)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`^(?:` + c.expr + `)`)
		for iter := 0; iter < 5000; iter++ {
			rs := make([]rune, rng.IntN(20))
			for i := range rs {
				rs[i] = palette[rng.IntN(len(palette))]
			}
			text := string(rs)
			var st splitText
			st.reset(tab, text)
			bounds, _ := pre.split(&st, nil, nil)
			got := piecesOf(&st, bounds)
			if want := lookaheadSplit(re, tab, rs); strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
				t.Fatalf("%s %q:\n got %q\nwant %q", c.pre, text, got, want)
			}
		}
	}
}

// lookaheadSplit splits rs by the anchored expression re, falling back to
// \s+(?!\S)|\s+ and then to a lone unmatched character.
func lookaheadSplit(re *regexp.Regexp, tab *charTable, rs []rune) []string {
	isWS := func(r rune) bool { return tab.class(r)&clsWS != 0 }
	var out []string
	for p := 0; p < len(rs); {
		var mapped strings.Builder
		var ends []int // rune index after each byte of mapped
		for i, r := range rs[p:] {
			m := string(r)
			if r >= 0x80 && isWS(r) {
				m = "\v"
			}
			mapped.WriteString(m)
			for range len(m) {
				ends = append(ends, p+i+1)
			}
		}
		e := p + 1
		if loc := re.FindStringIndex(mapped.String()); loc != nil && loc[1] > 0 {
			e = ends[loc[1]-1]
		} else if isWS(rs[p]) {
			q := p
			for q < len(rs) && isWS(rs[q]) {
				q++
			}
			e = q
			if q-p > 1 && q < len(rs) {
				e = q - 1
			}
		}
		out = append(out, string(rs[p:e]))
		p = e
	}
	return out
}

func piecesOf(st *splitText, bounds []int) []string {
	var out []string
	start := 0
	for _, e := range bounds {
		out = append(out, st.s[st.offs[start]:st.offs[e]])
		start = e
	}
	return out
}

// regexSplit splits p like llama.cpp's unicode_regex_split_stl: matches and
// the gaps between them are pieces. Non-ASCII whitespace is matched as \v.
func regexSplit(re *regexp.Regexp, tab *charTable, p string) []string {
	var mapped strings.Builder
	var offs []int // byte offset in p of each byte of mapped
	for i, r := range p {
		m := string(r)
		if r >= 0x80 && tab.class(r)&clsWS != 0 {
			m = "\v"
		}
		for range len(m) {
			offs = append(offs, i)
		}
		mapped.WriteString(m)
	}
	offs = append(offs, len(p))
	var out []string
	at := 0
	for _, m := range re.FindAllStringIndex(mapped.String(), -1) {
		s, e := offs[m[0]], offs[m[1]]
		if s > at {
			out = append(out, p[at:s])
		}
		out = append(out, p[s:e])
		at = e
	}
	if at < len(p) {
		out = append(out, p[at:])
	}
	return out
}

// FuzzBPEEncode checks that any input encodes without panicking, to ids in
// range, and that the pieces give back the text as llama.cpp reads it (the
// input itself when it is valid UTF-8).
func FuzzBPEEncode(f *testing.F) {
	for _, s := range strings.SplitAfter(multilingual, "\n") {
		f.Add(s)
	}
	f.Add("\xff\xfe a\x80 \xed\xa0\x80 \xc0\xaf")
	_, b := loadBPETokenizer(f, "ggml-vocab-gpt-2.gguf")
	n := int32(len(b.pieceEnd))
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4<<10 {
			// Long inputs make the fuzzer's minimization of each new
			// interesting input crawl; TestBPELongRuns covers them.
			t.Skip()
		}
		ids := b.encode(s, nil)
		for _, id := range ids {
			if id < 0 || id >= n {
				t.Fatalf("id %d out of range", id)
			}
		}
		got := decodePieces(b, ids)
		if utf8.ValidString(s) && got != s {
			t.Fatalf("round trip of %q gave %q", s, got)
		}
		if want := llamaText(s); got != want {
			t.Fatalf("%q decoded to %q, want %q", s, got, want)
		}
	})
}

func benchText() string {
	var sb strings.Builder
	for sb.Len() < 10<<10 {
		sb.WriteString(multilingual)
	}
	s := sb.String()[:10<<10]
	for !utf8.ValidString(s) { // do not cut a character
		s = s[:len(s)-1]
	}
	return s
}

func BenchmarkBPEEncode(b *testing.B) {
	_, enc := loadBPETokenizer(b, "ggml-vocab-llama-bpe.gguf")
	text := benchText()
	b.SetBytes(int64(len(text)))
	var out []int32
	for b.Loop() {
		out = enc.encode(text, out[:0])
	}
	b.ReportMetric(float64(len(out)), "tokens")
}

// BenchmarkBPELoad measures building the 128k-token Llama 3 encoder from its
// vocabulary (the GGUF is read once, outside the loop).
func BenchmarkBPELoad(b *testing.B) {
	f, err := gguf.Open(testdata.SharedFile(b, filepath.Join("tokenizer", "ggml-vocab-llama-bpe.gguf")))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	v, err := VocabFromGGUF(f)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := newBPE(v); err != nil {
			b.Fatal(err)
		}
	}
}
