// Package tokenizer turns text into token ids and back, driven entirely by a
// GGUF file's tokenizer.ggml.* metadata, matching llama.cpp's tokenizers.
package tokenizer

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tandem-llm/tandem/gguf"
)

// Token types, as in tokenizer.ggml.token_type.
const (
	TypeNormal      = 1
	TypeUnknown     = 2
	TypeControl     = 3
	TypeUserDefined = 4
	TypeUnused      = 5
	TypeByte        = 6
)

// Vocab is the tokenizer metadata of a GGUF file.
//
// A Vocab built by hand must set every special id it does not use to -1: the
// zero value names token 0.
type Vocab struct {
	Model  string // tokenizer.ggml.model: llama, gpt2, bert, gemma4, none
	Pre    string // tokenizer.ggml.pre: the pre-tokenizer, for gpt2
	Tokens []string
	Scores []float32 // may be nil
	Types  []int32   // may be nil: all normal
	Merges []string  // "a b" pairs, for gpt2

	// Special ids; -1 when absent.
	BOS, EOS, EOT, EOM, UNK, PAD, SEP, CLS, Mask int32

	// EOG lists end-of-generation ids beyond those New derives itself (EOS,
	// EOT, EOM and the tokens llama.cpp recognises by their text). FromGGUF
	// puts the FIM pad, repo and file-separator ids here, as llama.cpp does.
	EOG []int32

	AddBOS, AddEOS, AddSpacePrefix bool

	// Lowercase and StripAccents are the WordPiece (bert) normaliser options,
	// tokenizer.ggml.normalizer.*; both default to true in FromGGUF.
	Lowercase, StripAccents bool

	// Name and Arch are general.name and general.architecture: llama.cpp keys
	// a few per-model token attributes (phi-3's right-stripping specials) on
	// them.
	Name, Arch string
}

// Tokenizer encodes and decodes text for one vocabulary. It is safe for
// concurrent use.
type Tokenizer struct {
	v   *Vocab
	enc encoder // nil for model "none"

	ids   *strIndex // token text → id
	attrs []attr

	// special lists the control, user-defined and unknown tokens in the order
	// llama.cpp tries them when splitting text: longest text first.
	special []int32
	trie    specialTrie

	eog []int32 // sorted

	spacePrefix bool // SPM: a space goes before text at the start and after specials
	wordPiece   bool // bert: CLS … SEP framing
}

// encoder is one tokenizer algorithm (SPM, BPE, WordPiece, …).
type encoder interface {
	// encode appends the ids of text, which holds no special tokens, to out.
	encode(text string, out []int32) []int32
	// piece appends the bytes that token id stands for to buf.
	piece(id int32, buf []byte) []byte
}

// EncodeOptions control special-token handling.
type EncodeOptions struct {
	AddSpecial   bool // add BOS/EOS (or CLS/SEP) as the vocabulary asks
	ParseSpecial bool // recognise control and user-defined token texts in the input
}

// attr is llama.cpp's per-token attribute set (llama_token_attr).
type attr uint16

const (
	attrUnknown attr = 1 << iota
	attrUnused
	attrNormal
	attrControl
	attrUserDefined
	attrByte
	attrNormalized
	attrLstrip
	attrRstrip
	attrSingleWord
)

// ErrUnknownModel is wrapped by the error for an unsupported
// tokenizer.ggml.model.
var ErrUnknownModel = errors.New("unsupported tokenizer model")

const supportedModels = "llama (SPM), gpt2 (BPE), bert (WordPiece), gemma4, none (no vocabulary)"

// Token texts llama.cpp recognises as end-of-turn, end-of-message,
// fill-in-the-middle and end-of-generation tokens (llama-vocab.cpp, load).
// Where several match, the first listed wins. Functions, not variables, so
// the lists cannot be changed.
func eotTexts() []string {
	return []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
		"<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}
}

func eomTexts() []string { return []string{"<|eom_id|>"} }

func fimTexts() (pre, suf, mid, pad, rep, sep []string) {
	return []string{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>",
			"▁<PRE>", "<|code_prefix|>", "<|prefix|>"},
		[]string{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>",
			"▁<SUF>", "<|code_suffix|>", "<|suffix|>"},
		[]string{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>",
			"▁<MID>", "<|code_middle|>", "<|middle|>"},
		[]string{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"},
		[]string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"},
		[]string{"<|file_sep|>"}
}

func eogTexts() []string {
	return []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
		"<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]",
		"[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
		"<｜end▁of▁sentence｜>", "[e~["}
}

// alwaysUserDefined are gpt-oss's channel tokens, which llama.cpp always
// renders and always matches.
func alwaysUserDefined() []string {
	return []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}
}

// New builds a tokenizer for v, applying llama.cpp's load-time rules: EOT/EOM
// detection from token texts, the end-of-generation set, and the attribute
// fix-ups that decide which tokens are special. v is not modified; Vocab
// returns the effective copy.
func New(v *Vocab) (*Tokenizer, error) {
	if v == nil {
		return nil, errors.New("tokenizer: nil vocabulary")
	}
	vc := *v
	v = &vc
	if v.Model == "no_vocab" {
		v.Model = "none"
	}
	switch v.Model {
	case "llama", "gpt2", "bert", "gemma4", "none":
	default:
		return nil, fmt.Errorf("tokenizer: %w %q (supported: %s)", ErrUnknownModel, v.Model, supportedModels)
	}
	n := len(v.Tokens)
	if int64(n) > 1<<31-1 {
		return nil, fmt.Errorf("tokenizer: %d tokens do not fit int32 ids", n)
	}
	if n == 0 && v.Model != "none" {
		return nil, fmt.Errorf("tokenizer: model %q has no tokens", v.Model)
	}
	if v.Scores != nil && len(v.Scores) != n {
		return nil, fmt.Errorf("tokenizer: %d scores for %d tokens", len(v.Scores), n)
	}
	if v.Types != nil && len(v.Types) != n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(v.Types), n)
	}
	for _, s := range []struct {
		name string
		id   int32
	}{{"BOS", v.BOS}, {"EOS", v.EOS}, {"EOT", v.EOT}, {"EOM", v.EOM}, {"UNK", v.UNK},
		{"PAD", v.PAD}, {"SEP", v.SEP}, {"CLS", v.CLS}, {"Mask", v.Mask}} {
		if s.id < -1 || int(s.id) >= n {
			return nil, fmt.Errorf("tokenizer: %s id %d out of range for %d tokens", s.name, s.id, n)
		}
	}
	for _, id := range v.EOG {
		if id < 0 || int(id) >= n {
			return nil, fmt.Errorf("tokenizer: end-of-generation id %d out of range for %d tokens", id, n)
		}
	}
	if v.Model != "none" {
		if v.AddBOS && v.BOS < 0 {
			return nil, errors.New("tokenizer: add_bos_token is set but there is no BOS token")
		}
		if v.AddEOS && v.EOS < 0 {
			return nil, errors.New("tokenizer: add_eos_token is set but there is no EOS token")
		}
	}

	ids, dup, ok := newVocabIndex(v.Tokens)
	if !ok {
		return nil, fmt.Errorf("tokenizer: duplicate token %q has ids %d and %d", v.Tokens[dup[1]], dup[0], dup[1])
	}
	t := &Tokenizer{v: v, ids: ids, attrs: make([]attr, n)}
	t.initAttrs()

	var err error
	switch v.Model {
	case "llama":
		t.enc = newSPM(v, t.ids)
		t.spacePrefix = v.AddSpacePrefix
	case "gpt2":
		t.enc, err = newBPE(v)
	case "gemma4":
		t.enc, err = newGemma4(v)
	case "bert":
		t.enc = newWPM(v, t.ids)
		t.wordPiece = true
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", v.Model, err)
	}
	v.Merges = nil // the BPE encoder keeps them as its merge table
	return t, nil
}

// FromGGUF builds the tokenizer described by a GGUF file's metadata.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	v, err := VocabFromGGUF(f)
	if err != nil {
		return nil, err
	}
	return New(v)
}

// VocabFromGGUF reads the tokenizer.ggml.* metadata with llama.cpp's
// per-model defaults. As in llama.cpp, a special-token id that is out of
// range is ignored (the default stands, or the token is absent).
func VocabFromGGUF(f *gguf.File) (*Vocab, error) {
	const p = "tokenizer.ggml."
	model, ok := f.String(p + "model")
	if !ok {
		return nil, errors.New("tokenizer: no tokenizer.ggml.model in the GGUF metadata")
	}
	v := &Vocab{Model: model, BOS: -1, EOS: -1, EOT: -1, EOM: -1, UNK: -1, PAD: -1, SEP: -1, CLS: -1, Mask: -1}
	v.Pre, _ = f.String(p + "pre")
	v.Name, _ = f.String("general.name")
	v.Arch, _ = f.String("general.architecture")

	switch model {
	case "none", "no_vocab":
		// llama.cpp keeps only the vocabulary size, as nameless tokens.
		v.Model = "none"
		n, _ := f.Uint(v.Arch + ".vocab_size")
		if n > 1<<24 {
			return nil, fmt.Errorf("tokenizer: %s.vocab_size %d is implausibly large", v.Arch, n)
		}
		v.Tokens = make([]string, n)
		return v, nil
	case "llama":
		v.BOS, v.EOS, v.UNK = 1, 2, 0
		v.AddBOS, v.AddSpacePrefix = true, true
	case "bert":
		v.BOS, v.UNK, v.SEP, v.PAD, v.Mask = 101, 100, 102, 0, 103
		v.AddBOS = true
	case "gpt2":
		v.BOS, v.EOS = 11, 11
		switch v.Pre {
		case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
			"jina-v5-nano", "tekken", "chameleon":
			v.AddBOS = true
		case "glm4", "chatglm-bpe":
			v.BOS = -1
		}
	case "gemma4":
		v.AddBOS = true // llama.cpp forces it for Gemma 4
	default:
		return nil, fmt.Errorf("tokenizer: %w %q (supported: %s)", ErrUnknownModel, model, supportedModels)
	}

	var err error
	if v.Tokens, ok = f.Strings(p + "tokens"); !ok {
		return nil, errors.New("tokenizer: tokenizer.ggml.tokens is missing or not a string array")
	}
	n := len(v.Tokens)
	if raw, present := f.Get(p + "scores"); present {
		if v.Scores, err = floatArray(raw); err != nil {
			return nil, fmt.Errorf("tokenizer: tokenizer.ggml.scores: %w", err)
		}
	}
	if _, present := f.Get(p + "token_type"); present {
		if v.Types, ok = f.Int32s(p + "token_type"); !ok {
			return nil, errors.New("tokenizer: tokenizer.ggml.token_type is not an integer array")
		}
	}
	if _, present := f.Get(p + "merges"); present {
		if v.Merges, ok = f.Strings(p + "merges"); !ok {
			return nil, errors.New("tokenizer: tokenizer.ggml.merges is not a string array")
		}
	} else if model == "gpt2" || model == "gemma4" {
		return nil, fmt.Errorf("tokenizer: model %q needs tokenizer.ggml.merges", model)
	}

	// Defaults that do not fit the vocabulary are dropped, then metadata
	// overrides them where it is in range.
	ids := []struct {
		key string
		id  *int32
	}{
		{"bos_token_id", &v.BOS}, {"eos_token_id", &v.EOS}, {"eot_token_id", &v.EOT},
		{"eom_token_id", &v.EOM}, {"unknown_token_id", &v.UNK}, {"seperator_token_id", &v.SEP},
		{"padding_token_id", &v.PAD}, {"cls_token_id", &v.CLS}, {"mask_token_id", &v.Mask},
	}
	for _, s := range ids {
		if int(*s.id) >= n {
			*s.id = -1
		}
		if id, ok := f.Uint(p + s.key); ok && id < uint64(n) {
			*s.id = int32(id)
		}
	}
	// llama.cpp's FIM pad, repo and file-separator tokens end generation.
	for _, key := range []string{"fim_pad_token_id", "fim_rep_token_id", "fim_sep_token_id"} {
		if id, ok := f.Uint(p + key); ok && id < uint64(n) {
			v.EOG = append(v.EOG, int32(id))
		}
	}

	if b, ok := f.Bool(p + "add_space_prefix"); ok {
		v.AddSpacePrefix = b
	}
	if b, ok := f.Bool(p + "add_bos_token"); ok && model != "gemma4" {
		v.AddBOS = b
	}
	if b, ok := f.Bool(p + "add_eos_token"); ok {
		v.AddEOS = b
	}
	v.Lowercase = true
	if b, ok := f.Bool(p + "normalizer.lowercase"); ok {
		v.Lowercase = b
	}
	v.StripAccents = v.Lowercase
	if b, ok := f.Bool(p + "normalizer.strip_accents"); ok {
		v.StripAccents = b
	}
	return v, nil
}

// floatArray converts tokenizer.ggml.scores, which llama.cpp accepts as
// float32 or int32, to []float32.
func floatArray(raw any) ([]float32, error) {
	switch x := raw.(type) {
	case []float32:
		return x, nil
	case []int32:
		out := make([]float32, len(x))
		for i, v := range x {
			out[i] = float32(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a float32 or int32 array, have %T", raw)
}

// initAttrs derives token attributes, EOT/EOM, the end-of-generation set and
// the special-token list, in the order llama.cpp's vocabulary loader does.
func (t *Tokenizer) initAttrs() {
	v := t.v
	for i := range t.attrs {
		t.attrs[i] = attrNormal
		if v.Types != nil {
			t.attrs[i] = typeAttr(v.Types[i])
		}
	}
	// findText returns the id of the first listed text in the vocabulary and
	// marks it as a control token, as llama.cpp does for tokens it
	// recognises by their text.
	findText := func(texts []string) int32 {
		for _, s := range texts {
			if id, ok := t.ids.get(s); ok {
				t.attrs[id] |= attrControl
				return id
			}
		}
		return -1
	}
	if v.EOT < 0 {
		v.EOT = findText(eotTexts())
	}
	if v.EOM < 0 {
		v.EOM = findText(eomTexts())
	}
	pre, suf, mid, pad, rep, sep := fimTexts()
	findText(pre)
	findText(suf)
	findText(mid)
	fimPad, fimRep, fimSep := findText(pad), findText(rep), findText(sep)

	eog := map[int32]bool{}
	for _, id := range append([]int32{fimPad, fimRep, fimSep}, v.EOG...) {
		if id >= 0 {
			eog[id] = true
		}
	}
	for _, s := range eogTexts() {
		if id, ok := t.ids.get(s); ok {
			eog[id] = true
			t.attrs[id] |= attrControl
		}
	}
	for _, s := range alwaysUserDefined() {
		if id, ok := t.ids.get(s); ok {
			t.attrs[id] = attrUserDefined
		}
	}
	for _, id := range []int32{v.EOS, v.EOT, v.EOM} {
		if id >= 0 {
			eog[id] = true
		}
	}
	// o200k_harmony and solar-open: "<|end|>" ends a message, not generation.
	has := func(s string) (int32, bool) {
		id, ok := t.ids.get(s)
		return id, ok && eog[id]
	}
	_, ret := has("<|return|>")
	_, call := has("<|call|>")
	_, calls := has("<|calls|>")
	_, flush := has("<|flush|>")
	if end, ok := has("<|end|>"); ok && ((ret && (call || calls)) || ((call || calls) && flush)) {
		delete(eog, end)
		t.attrs[end] = attrUserDefined
	}
	// Gemma 4 and paddleocr: "</s>" is ordinary text.
	if _, ok := has("<|tool_response>"); ok {
		if s, ok := has("</s>"); ok {
			delete(eog, s)
			t.attrs[s] = attrNormal
		}
	}
	for id := range eog {
		t.eog = append(t.eog, id)
	}
	slices.Sort(t.eog)

	for i, a := range t.attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) != 0 && v.Tokens[i] != "" {
			t.special = append(t.special, int32(i))
		}
	}
	// Longest first; ties by id so the order is deterministic.
	slices.SortStableFunc(t.special, func(a, b int32) int {
		return cmp.Compare(len(v.Tokens[b]), len(v.Tokens[a]))
	})

	// Per-model attributes llama.cpp sets by name.
	name := strings.ToLower(v.Name)
	setAttr := func(s string, a attr, on bool) {
		if id, ok := t.ids.get(s); ok {
			if on {
				t.attrs[id] |= a
			} else {
				t.attrs[id] &^= a
			}
		}
	}
	switch {
	case containsAny(v.Pre, "jina-v2-de", "jina-v2-es", "jina-v2-code") ||
		containsAny(v.Arch, "nomic-bert-moe", "jina-bert-v3"):
		setAttr("<mask>", attrLstrip, true)
	case containsAny(name, "phi-3", "phi3"):
		for _, id := range t.special {
			t.attrs[id] |= attrRstrip
		}
		setAttr("</s>", attrRstrip, true)
		for _, s := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			setAttr(s, attrRstrip, false)
		}
	case containsAny(name, "modern-bert"):
		setAttr("[MASK]", attrLstrip, true)
	}
	t.trie = newSpecialTrie(v.Tokens, t.special)
}

func typeAttr(typ int32) attr {
	switch typ {
	case TypeNormal:
		return attrNormal
	case TypeUnknown:
		return attrUnknown
	case TypeControl:
		return attrControl
	case TypeUserDefined:
		return attrUserDefined
	case TypeUnused:
		return attrUnused
	case TypeByte:
		return attrByte
	}
	return 0 // undefined
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// Encode returns the token ids of text.
func (t *Tokenizer) Encode(text string, opts EncodeOptions) []int32 {
	return t.encodeFragments(text, t.partition(text, opts.ParseSpecial), opts.AddSpecial)
}

// Segment is a piece of a prompt: template text, whose special-token texts
// are parsed, or content, whose are not.
type Segment struct {
	Text         string
	ParseSpecial bool
}

// EncodeSegments encodes the concatenation of segs, recognising special
// tokens only inside the segments that allow it. Ordinary text is
// tokenized in maximal runs across segment boundaries, so a chat prompt
// gets the tokens its rendered text would get (BPE merges and
// SentencePiece spaces do not stop where template and content meet).
func (t *Tokenizer) EncodeSegments(segs []Segment, addSpecial bool) []int32 {
	var text strings.Builder
	var frags []fragment
	for _, sg := range segs {
		off := text.Len()
		text.WriteString(sg.Text)
		for _, f := range t.partition(sg.Text, sg.ParseSpecial) {
			if f.id < 0 {
				f.start, f.end = f.start+off, f.end+off
				if n := len(frags); n > 0 && frags[n-1].id < 0 && frags[n-1].end == f.start {
					frags[n-1].end = f.end
					continue
				}
			}
			frags = append(frags, f)
		}
	}
	return t.encodeFragments(text.String(), frags, addSpecial)
}

// encodeFragments encodes text split into special tokens and ordinary runs.
func (t *Tokenizer) encodeFragments(text string, frags []fragment, addSpecial bool) []int32 {
	if t.enc == nil {
		return nil
	}
	v := t.v
	var out []int32
	opts := EncodeOptions{AddSpecial: addSpecial}
	switch {
	case t.wordPiece:
		if opts.AddSpecial {
			cls := v.BOS // llama.cpp's BERT BOS is [CLS]
			if cls < 0 {
				cls = v.CLS
			}
			if cls >= 0 {
				out = append(out, cls)
			}
		}
		for _, f := range frags {
			if f.id >= 0 {
				out = append(out, f.id)
			} else {
				out = t.enc.encode(text[f.start:f.end], out)
			}
		}
		if opts.AddSpecial && v.SEP >= 0 {
			out = append(out, v.SEP)
		}
	default:
		if opts.AddSpecial && v.AddBOS && v.BOS >= 0 {
			out = append(out, v.BOS)
		}
		prevSpecial := true // SPM puts a space before the first word
		for _, f := range frags {
			if f.id >= 0 {
				out = append(out, f.id)
				prevSpecial = true
				continue
			}
			s := text[f.start:f.end]
			if t.spacePrefix && prevSpecial {
				s = " " + s
			}
			out = t.enc.encode(s, out)
			prevSpecial = false
		}
		if opts.AddSpecial && v.AddEOS && v.EOS >= 0 {
			out = append(out, v.EOS)
		}
	}
	return out
}

// fragment is a run of input text (id < 0) or a special token found in it.
type fragment struct {
	id         int32
	start, end int
}

// partition splits text around special-token texts as llama.cpp's
// tokenizer_st_partition does: each special token in turn, longest first,
// cuts every text fragment at each of its occurrences. User-defined tokens
// are always matched; control and unknown tokens only with parseSpecial.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	if text == "" {
		return nil
	}
	frags := []fragment{{id: -1, start: 0, end: len(text)}}
	present := t.trie.find(text)
	if len(present) == 0 {
		return frags
	}
	var next []fragment
	for _, id := range t.special {
		if !present[id] {
			continue
		}
		a := t.attrs[id]
		if !parseSpecial && a&(attrControl|attrUnknown) != 0 {
			continue
		}
		tok := t.v.Tokens[id]
		next = next[:0]
		for _, f := range frags {
			if f.id >= 0 {
				next = append(next, f)
				continue
			}
			start, end := f.start, f.end
			for start < end {
				k := strings.Index(text[start:end], tok)
				if k < 0 {
					next = append(next, fragment{id: -1, start: start, end: end})
					break
				}
				m := start + k
				left := m
				if a&attrLstrip != 0 {
					for left > start && isSpace(text[left-1]) {
						left--
					}
				}
				if left > start {
					next = append(next, fragment{id: -1, start: start, end: left})
				}
				next = append(next, fragment{id: id})
				start = m + len(tok)
				if a&attrRstrip != 0 {
					for start < end && isSpace(text[start]) {
						start++
					}
				}
			}
		}
		frags, next = next, frags
	}
	return frags
}

// isSpace is C's isspace in the "C" locale, which llama.cpp's l/rstrip use.
func isSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

// specialTrie finds which special tokens occur anywhere in a text, so that
// partition only runs the (ordered) splitting for those.
type specialTrie struct {
	edges map[uint64]int32 // node<<8 | byte → child node
	term  []int32          // node → token id ending there, or -1
	first [256]bool        // bytes that start some special token
}

func newSpecialTrie(tokens []string, ids []int32) specialTrie {
	tr := specialTrie{edges: map[uint64]int32{}, term: []int32{-1}}
	for _, id := range ids {
		s := tokens[id]
		tr.first[s[0]] = true
		node := int32(0)
		for i := 0; i < len(s); i++ {
			key := uint64(node)<<8 | uint64(s[i])
			child, ok := tr.edges[key]
			if !ok {
				child = int32(len(tr.term))
				tr.term = append(tr.term, -1)
				tr.edges[key] = child
			}
			node = child
		}
		tr.term[node] = id
	}
	return tr
}

// find returns the set of special tokens that occur in text.
func (tr *specialTrie) find(text string) map[int32]bool {
	var found map[int32]bool
	for i := 0; i < len(text); i++ {
		if !tr.first[text[i]] {
			continue
		}
		node := int32(0)
		for j := i; j < len(text); j++ {
			child, ok := tr.edges[uint64(node)<<8|uint64(text[j])]
			if !ok {
				break
			}
			node = child
			if id := tr.term[node]; id >= 0 {
				if found == nil {
					found = map[int32]bool{}
				}
				found[id] = true
			}
		}
	}
	return found
}

// VocabSize is the number of token ids.
func (t *Tokenizer) VocabSize() int { return len(t.v.Tokens) }

// BOS is the beginning-of-sequence id, or -1.
func (t *Tokenizer) BOS() int32 { return t.v.BOS }

// EOS is the end-of-sequence id, or -1.
func (t *Tokenizer) EOS() int32 { return t.v.EOS }

// EOT is the end-of-turn id, or -1.
func (t *Tokenizer) EOT() int32 { return t.v.EOT }

// AddBOS reports whether Encode with AddSpecial puts BOS first.
func (t *Tokenizer) AddBOS() bool { return t.v.AddBOS }

// AddEOS reports whether Encode with AddSpecial puts EOS last.
func (t *Tokenizer) AddEOS() bool { return t.v.AddEOS }

// IsEOG reports whether id ends generation (EOS, EOT, EOM and the other
// tokens llama.cpp treats so).
func (t *Tokenizer) IsEOG(id int32) bool {
	_, ok := slices.BinarySearch(t.eog, id)
	return ok
}

// EOG returns the end-of-generation ids, sorted.
func (t *Tokenizer) EOG() []int32 { return slices.Clone(t.eog) }

// IsSpecial reports whether id is a control or unknown token: one that
// Decode renders as nothing and Encode recognises only with ParseSpecial.
func (t *Tokenizer) IsSpecial(id int32) bool {
	return id >= 0 && int(id) < len(t.attrs) && t.attrs[id]&(attrControl|attrUnknown) != 0
}

// Token returns the text of token id as stored in the vocabulary, or "" if
// id is out of range.
func (t *Tokenizer) Token(id int32) string {
	if id < 0 || int(id) >= len(t.v.Tokens) {
		return ""
	}
	return t.v.Tokens[id]
}

// TokenID returns the id of the token whose vocabulary text is s.
func (t *Tokenizer) TokenID(s string) (int32, bool) {
	return t.ids.get(s)
}

// Vocab returns the vocabulary in effect (with New's derived EOT/EOM, and
// without the merges, which the encoder holds in its own form). It is
// shared: callers must not modify it.
func (t *Tokenizer) Vocab() *Vocab { return t.v }
