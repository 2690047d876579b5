package router

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Dense features, in the order of Model's dense weights. The list is part of
// the model file format: a file whose feature names differ is refused.
const (
	fLogChars = iota
	fLogWords
	fLogLines
	fAvgWordLen
	fLatinShare
	fCJKShare
	fOtherScriptShare
	fDigitShare
	fUpperShare
	fPunctShare
	fMathOps
	fNumbers
	fHowMany
	fCompute
	fDollar
	fBackslash
	fCodeFence
	fBraces
	fCodeKeywords
	fSemicolons
	fWhat
	fWhy
	fHow
	fWhich
	fExplain
	fProve
	fTranslate
	fSummarize
	fWrite
	fChoices
	fAnswerCue
	fQuestionMarks
	fSigHas
	fSigLogPPL
	fSigEntropy
	numDense
)

// denseSpec names a dense feature and says, for Explain, what a value above
// (hi) or below (lo) the training mean means to a human.
type denseSpec struct{ name, hi, lo string }

var denseSpecs = [numDense]denseSpec{
	fLogChars:         {"log_chars", "long prompt", "short prompt"},
	fLogWords:         {"log_words", "long prompt", "short prompt"},
	fLogLines:         {"log_lines", "many lines", "few lines"},
	fAvgWordLen:       {"avg_word_len", "long words", "short words"},
	fLatinShare:       {"latin_share", "Latin script", "little Latin script"},
	fCJKShare:         {"cjk_share", "CJK text", "no CJK text"},
	fOtherScriptShare: {"other_script_share", "other script", "no other script"},
	fDigitShare:       {"digit_share", "many digits", "few digits"},
	fUpperShare:       {"upper_share", "many capitals", "few capitals"},
	fPunctShare:       {"punct_share", "much punctuation", "little punctuation"},
	fMathOps:          {"log_math_ops", "math markers", "no math markers"},
	fNumbers:          {"log_numbers", "many numbers", "few numbers"},
	fHowMany:          {"how_many", "math markers", "no math markers"},
	fCompute:          {"compute", "math markers", "no math markers"},
	fDollar:           {"log_dollar", "money/LaTeX", "no money/LaTeX"},
	fBackslash:        {"log_backslash", "LaTeX/escapes", "no LaTeX"},
	fCodeFence:        {"code_fence", "code markers", "no code markers"},
	fBraces:           {"log_braces", "code markers", "no code markers"},
	fCodeKeywords:     {"code_keywords", "code markers", "no code markers"},
	fSemicolons:       {"log_semicolons", "code markers", "no code markers"},
	fWhat:             {"q_what", "question: what", "no what"},
	fWhy:              {"q_why", "question: why", "no why"},
	fHow:              {"q_how", "question: how", "no how"},
	fWhich:            {"q_which", "question: which", "no which"},
	fExplain:          {"q_explain", "asks to explain", "no explain"},
	fProve:            {"q_prove", "asks for a proof", "no proof"},
	fTranslate:        {"q_translate", "translation", "no translation"},
	fSummarize:        {"q_summarize", "summary", "no summary"},
	fWrite:            {"q_write", "asks to write", "no write"},
	fChoices:          {"choices", "multiple choice", "not multiple choice"},
	fAnswerCue:        {"answer_cue", "answer cue", "no answer cue"},
	fQuestionMarks:    {"question_marks", "question marks", "no question mark"},
	fSigHas:           {"sig_has", "local signals", "no local signals"},
	fSigLogPPL:        {"sig_log_ppl", "high local perplexity", "low local perplexity"},
	fSigEntropy:       {"sig_entropy", "uncertain first token", "confident first token"},
}

// Hashed feature namespaces. Each namespace's values are 1/sqrt(count) per
// occurrence, so its part of the vector has unit norm whatever the length.
const (
	nsWord = iota
	nsBigram
	nsTrigram
	numNS
)

var nsNames = [numNS]string{"word", "words", "chars"}

// nsSeed separates the namespaces in the shared bucket space.
var nsSeed = [numNS]uint64{0x9e3779b97f4a7c15, 0xc2b2ae3d27d4eb4f, 0x165667b19e3779f9}

// maxScan bounds the bytes scanned for n-grams and markers, so a huge prompt
// costs no more than this; lengths still come from the whole prompt.
const maxScan = 16 << 10

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func mix64(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// span is the byte range of a hashed feature in the prompt (for Explain).
type span struct{ start, end int32 }

// extractor computes a prompt's features without allocating: dense values,
// and per hashed namespace either the sum of the weights hit (scoring) or the
// bucket indices (training, Explain).
type extractor struct {
	dense [numDense]float64
	count [numNS]int

	// Scoring: w is the hashed weight table; sum collects w[bucket].
	w     []float32
	shift uint
	sum   [numNS]float64

	// Recording (training): bucket indices.
	rec bool
	idx [numNS][]uint32

	// Explain: the strongest weighted occurrences.
	top *topHashed
}

func (e *extractor) emit(ns int, h uint64, start, end int) {
	b := uint32(mix64(h^nsSeed[ns]) >> e.shift)
	e.count[ns]++
	if e.w != nil {
		e.sum[ns] += float64(e.w[b])
	}
	if e.rec {
		e.idx[ns] = append(e.idx[ns], b)
	}
	if e.top != nil {
		e.top.offer(hit{w: e.w[b], ns: ns, b: b, sp: span{int32(start), int32(end)}})
	}
}

// isCJK reports runes that are words on their own (no spaces in these scripts).
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

// norm lowercases a rune and maps every digit to '0', so "16" and "37" share features.
func norm(r rune) rune {
	if r < utf8.RuneSelf {
		switch {
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		case '0' <= r && r <= '9':
			return '0'
		}
		return r
	}
	if unicode.IsDigit(r) {
		return '0'
	}
	return unicode.ToLower(r)
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// questionWords map (lowercase) words to their question-type feature.
var questionWords = [...]struct {
	w string
	f int
}{
	{"what", fWhat}, {"why", fWhy}, {"how", fHow}, {"which", fWhich},
	{"explain", fExplain}, {"justify", fExplain}, {"prove", fProve}, {"proof", fProve},
	{"translate", fTranslate}, {"summarize", fSummarize}, {"summarise", fSummarize}, {"write", fWrite},
	{"calculate", fCompute}, {"compute", fCompute}, {"evaluate", fCompute}, {"simplify", fCompute}, {"solve", fCompute},
}

// questionWord maps a word to its question-type feature, or -1.
func questionWord(w string) int {
	if len(w) < 3 || len(w) > 9 {
		return -1
	}
	for _, q := range questionWords {
		if len(q.w) == len(w) && strings.EqualFold(w, q.w) {
			return q.f
		}
	}
	return -1
}

// cjkMarkers are Chinese question-type markers counted into the same
// features as their English counterparts, so they share the learned weight.
var cjkMarkers = [...]struct {
	s string
	f int
}{
	{"为什么", fWhy}, {"怎么", fHow}, {"如何", fHow}, {"什么", fWhat}, {"哪", fWhich},
	{"计算", fCompute}, {"证明", fProve}, {"解释", fExplain}, {"翻译", fTranslate},
	{"总结", fSummarize}, {"概括", fSummarize}, {"写", fWrite}, {"多少", fHowMany},
}

var codeKeywords = [...]string{"def ", "func ", "function", "return ", "#include", "class ", "import ", "print("}

// run extracts the features of prompt and sig.
func (e *extractor) run(prompt string, sig Signals) {
	e.dense = [numDense]float64{}
	e.count = [numNS]int{}
	e.sum = [numNS]float64{}
	for ns := range e.idx {
		e.idx[ns] = e.idx[ns][:0]
	}

	s := prompt
	if len(s) > maxScan {
		cut := maxScan
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}

	var nonSpace, letters, latin, cjk, digits, upper, punct, mathOps, numbers, words, wordRunes int
	var dollar, backslash, braces, semis, qmarks, choices int
	d := &e.dense

	// Current word: hash, start, rune count, whether it began with a digit.
	inWord, wStart, wRunes, wDigit := false, 0, 0, false
	var wHash uint64
	// Previous word, for bigrams and "how many".
	havePrev, prevHow, prevStart := false, false, 0
	var prevHash uint64
	endWord := func(end int) {
		if !inWord {
			return
		}
		inWord = false
		words++
		wordRunes += wRunes
		if wDigit {
			numbers++
		}
		e.emit(nsWord, wHash, wStart, end)
		if havePrev {
			e.emit(nsBigram, prevHash*fnvPrime^wHash, prevStart, end)
		}
		w := s[wStart:end]
		q := questionWord(w)
		if q >= 0 {
			d[q]++
		}
		if prevHow && (strings.EqualFold(w, "many") || strings.EqualFold(w, "much")) {
			d[fHowMany]++
		}
		prevHow = q == fHow
		havePrev, prevHash, prevStart = true, wHash, wStart
	}

	// Character trigrams over normalised runes with whitespace collapsed.
	var c1, c2 rune
	var p1, p2 int
	nc := 0
	lastSpace := true
	lineStart := true
	var prev rune

	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		space := r == ' ' || r == '\n' || r == '\t' || r == '\r' || (r >= utf8.RuneSelf && unicode.IsSpace(r))

		// Trigrams.
		if !space || !lastSpace {
			c := norm(r)
			if space {
				c = ' '
			}
			if nc >= 2 {
				e.emit(nsTrigram, (uint64(c1)<<42)^(uint64(c2)<<21)^uint64(c), p1, i+size)
			}
			c1, c2, p1, p2 = c2, c, p2, i
			nc++
		}
		lastSpace = space

		// Words.
		switch {
		case r >= utf8.RuneSelf && isCJK(r):
			endWord(i)
			inWord, wStart, wRunes, wDigit, wHash = true, i, 1, false, (fnvOffset^uint64(r))*fnvPrime
			endWord(i + size)
		case isWordRune(r):
			if !inWord {
				inWord, wStart, wRunes, wHash = true, i, 0, fnvOffset
				wDigit = r < utf8.RuneSelf && '0' <= r && r <= '9' || r >= utf8.RuneSelf && unicode.IsDigit(r)
			}
			wRunes++
			wHash = (wHash ^ uint64(norm(r))) * fnvPrime
		default:
			endWord(i)
		}

		// Character classes and markers.
		if !space {
			nonSpace++
			if lineStart {
				lineStart = false
				if isChoice(s, i, r) {
					choices++
				}
			}
		}
		switch {
		case r == '\n':
			lineStart = true
		case space:
		case 'a' <= r && r <= 'z':
			letters++
			latin++
		case 'A' <= r && r <= 'Z':
			letters++
			latin++
			upper++
		case '0' <= r && r <= '9':
			digits++
		case r < utf8.RuneSelf:
			punct++
			switch r {
			case '=', '+', '^', '%', '*', '/', '<', '>':
				mathOps++
			case '-':
				if prev == ' ' || '0' <= prev && prev <= '9' {
					mathOps++
				}
			case '$':
				dollar++
			case '\\':
				backslash++
			case '{', '}':
				braces++
			case ';':
				semis++
			case '?':
				qmarks++
			}
		default:
			switch {
			case unicode.IsLetter(r):
				letters++
				switch {
				case unicode.Is(unicode.Latin, r):
					latin++
					if unicode.IsUpper(r) {
						upper++
					}
				case isCJK(r):
					cjk++
				}
			case unicode.IsDigit(r):
				digits++
			default:
				punct++
				switch r {
				case '−', '×', '÷', '≤', '≥', '≠', '±', '√', '∫', '∑', 'π':
					mathOps++
				case '？':
					qmarks++
				}
			}
		}
		if !space {
			prev = r
		} else {
			prev = ' '
		}
		i += size
	}
	endWord(len(s))

	for _, m := range cjkMarkers {
		if n := strings.Count(s, m.s); n > 0 {
			d[m.f] += float64(n)
		}
	}
	code := 0
	for _, k := range codeKeywords {
		code += strings.Count(s, k)
	}

	// Lengths from the whole prompt; words extrapolated past the scanned part.
	chars := utf8.RuneCountInString(prompt)
	lines := strings.Count(prompt, "\n") + 1
	if len(s) < len(prompt) && len(s) > 0 {
		words = int(float64(words) * float64(len(prompt)) / float64(len(s)))
	}
	d[fLogChars] = math.Log1p(float64(chars))
	d[fLogWords] = math.Log1p(float64(words))
	d[fLogLines] = math.Log1p(float64(lines))
	if words > 0 {
		d[fAvgWordLen] = float64(wordRunes) / float64(words)
	}
	if nonSpace > 0 {
		n := float64(nonSpace)
		d[fLatinShare] = float64(latin) / n
		d[fCJKShare] = float64(cjk) / n
		d[fOtherScriptShare] = float64(letters-latin-cjk) / n
		d[fDigitShare] = float64(digits) / n
		d[fPunctShare] = float64(punct) / n
	}
	if latin > 0 {
		d[fUpperShare] = float64(upper) / float64(latin)
	}
	d[fMathOps] = math.Log1p(float64(mathOps))
	d[fNumbers] = math.Log1p(float64(numbers))
	d[fDollar] = math.Log1p(float64(dollar))
	d[fBackslash] = math.Log1p(float64(backslash))
	d[fCodeFence] = float64(strings.Count(s, "```"))
	d[fBraces] = math.Log1p(float64(braces))
	d[fCodeKeywords] = math.Log1p(float64(code))
	d[fSemicolons] = math.Log1p(float64(semis))
	for _, f := range [...]int{fWhat, fWhy, fHow, fWhich, fExplain, fProve, fTranslate, fSummarize, fWrite, fHowMany, fCompute} {
		d[f] = math.Log1p(d[f])
	}
	d[fChoices] = float64(min(choices, 8))
	if strings.HasSuffix(strings.TrimRight(s, " \t\r\n"), "Answer:") {
		d[fAnswerCue] = 1
	}
	d[fQuestionMarks] = math.Log1p(float64(qmarks))
	if sig.Has && finite(sig.PromptPerplexity) && finite(sig.FirstTokenEntropy) {
		d[fSigHas] = 1
		d[fSigLogPPL] = clamp(math.Log(max(sig.PromptPerplexity, 1)), 0, 20)
		d[fSigEntropy] = clamp(sig.FirstTokenEntropy, 0, 20)
	}
}

// isChoice reports a line starting "A." / "B)" … (multiple-choice options).
func isChoice(s string, i int, r rune) bool {
	if !('A' <= r && r <= 'H' || 'a' <= r && r <= 'h') || i+1 >= len(s) {
		return false
	}
	if c := s[i+1]; c != '.' && c != ')' {
		return false
	}
	return i+2 == len(s) || s[i+2] == ' ' || s[i+2] == '\t'
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func clamp(x, lo, hi float64) float64 { return max(lo, min(hi, x)) }
