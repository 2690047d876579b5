package router

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// prompts are realistic request shapes: short chat, multiple choice, math,
// code, Chinese, and a 4 KB document.
var prompts = []string{
	"hi! how are you today?",
	"What is the capital of France?",
	"Which of the following structures is derived from ectomesenchyme?\nA. Motor neurons\nB. Skeletal muscles\nC. Melanocytes\nD. Sweat glands\nAnswer:",
	"Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?",
	"Write a Python function that merges two sorted lists.\n```python\ndef merge(a, b):\n    pass\n```",
	"请解释为什么天空是蓝色的，并计算光在真空中传播一公里需要多少时间。",
	"Prove that there are infinitely many primes p such that p ≡ 3 (mod 4).",
	strings.Repeat("The committee reviewed the quarterly report and discussed the budget for the next fiscal year; several members asked why the costs rose. ", 30),
}

func TestDefaultModel(t *testing.T) {
	m := DefaultModel()
	if !strings.HasPrefix(m.Provenance(), "tandem router train --data routellm") {
		t.Errorf("provenance %q", m.Provenance())
	}
	var b bytes.Buffer
	if err := m.Save(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), defaultModelJSON) {
		t.Error("Save(DefaultModel()) differs from the embedded file")
	}
	if len(defaultModelJSON) > 300<<10 {
		t.Errorf("default model is %d bytes, want < 300 KB", len(defaultModelJSON))
	}
	m2, err := LoadModel(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	s, s2 := m.NewScorer(), m2.NewScorer()
	for _, p := range prompts {
		a, b := s.Score(p, Signals{}), s2.Score(p, Signals{})
		if a != b || !(a > 0 && a < 1) {
			t.Errorf("score %q: %v, reloaded %v", p, a, b)
		}
	}
	// The math word problem is harder for the weak model than small talk.
	if easy, hard := s.Score(prompts[0], Signals{}), s.Score(prompts[3], Signals{}); !(hard > easy) {
		t.Errorf("score(math) %v <= score(chat) %v", hard, easy)
	}
}

func TestLoadModelErrors(t *testing.T) {
	var good map[string]any
	if err := json.Unmarshal(defaultModelJSON, &good); err != nil {
		t.Fatal(err)
	}
	edit := func(k string, v any) string {
		c := map[string]any{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		b, _ := json.Marshal(c)
		return string(b)
	}
	feats := slices.Clone(good["features"].([]any))
	feats[3] = "renamed"
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "decode model"},
		{"truncated", string(defaultModelJSON[:len(defaultModelJSON)/2]), "decode model"},
		{"not json", "GGUF\x03\x00", "decode model"},
		{"format", edit("format", "other"), "format"},
		{"version", edit("version", 2), "version 2"},
		{"unknown field", edit("extra", 1), "unknown field"},
		{"features", edit("features", feats), `"renamed"`},
		{"few features", edit("features", feats[:3]), "3 dense features"},
		{"mean", edit("mean", []float64{1}), "mean has 1 values"},
		{"scale", edit("scale", make([]float64, numDense)), "scale[0]"},
		{"buckets", edit("buckets", 1000), "power of two"},
		{"hashed size", edit("hashed", "AAAA"), "3 bytes"},
		{"hashed b64", edit("hashed", "!!"), "hashed weights"},
		{"hashed nan", edit("hashed", base64.StdEncoding.EncodeToString(append([]byte{0, 0, 0xc0, 0x7f}, make([]byte, 4<<14-4)...))), "weight 0 is not finite"},
		{"threshold", edit("threshold", 2), "threshold"},
	} {
		_, err := LoadModel(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	if _, err := LoadModelFile("testdata/no-such-model.json"); err == nil || !strings.Contains(err.Error(), "no-such-model.json") {
		t.Errorf("missing file: %v", err)
	}
}

func TestFeatures(t *testing.T) {
	var e extractor
	e.run(prompts[2], Signals{})
	if e.dense[fChoices] != 4 || e.dense[fAnswerCue] != 1 || e.dense[fWhich] == 0 {
		t.Errorf("multiple choice: choices %v, answer cue %v, which %v", e.dense[fChoices], e.dense[fAnswerCue], e.dense[fWhich])
	}
	e.run(prompts[3], Signals{})
	if e.dense[fHowMany] == 0 || e.dense[fNumbers] == 0 || e.dense[fDollar] == 0 {
		t.Errorf("math: how many %v, numbers %v, dollar %v", e.dense[fHowMany], e.dense[fNumbers], e.dense[fDollar])
	}
	e.run(prompts[4], Signals{})
	if e.dense[fCodeFence] != 2 || e.dense[fCodeKeywords] == 0 || e.dense[fWrite] == 0 {
		t.Errorf("code: fences %v, keywords %v, write %v", e.dense[fCodeFence], e.dense[fCodeKeywords], e.dense[fWrite])
	}
	e.run(prompts[5], Signals{})
	if e.dense[fCJKShare] < 0.8 || e.dense[fWhy] == 0 || e.dense[fExplain] == 0 || e.dense[fCompute] == 0 || e.dense[fHowMany] == 0 {
		t.Errorf("chinese: cjk %v why %v explain %v compute %v", e.dense[fCJKShare], e.dense[fWhy], e.dense[fExplain], e.dense[fCompute])
	}
	if e.count[nsWord] < 20 || e.count[nsTrigram] < 20 {
		t.Errorf("chinese: %d words, %d trigrams: each Han character is a word", e.count[nsWord], e.count[nsTrigram])
	}
	e.run(prompts[0], Signals{PromptPerplexity: math.Exp(3), FirstTokenEntropy: 1.5, Has: true})
	if e.dense[fSigHas] != 1 || math.Abs(e.dense[fSigLogPPL]-3) > 1e-9 || e.dense[fSigEntropy] != 1.5 {
		t.Errorf("signals: %v %v %v", e.dense[fSigHas], e.dense[fSigLogPPL], e.dense[fSigEntropy])
	}
	e.run(prompts[0], Signals{PromptPerplexity: math.NaN(), Has: true})
	if e.dense[fSigHas] != 0 {
		t.Error("NaN signals are used")
	}
	// Case and digits do not change the hashed features.
	var a, b extractor
	a.rec, b.rec = true, true
	a.shift, b.shift = 50, 50
	a.run("How many EGGS for 16 ducks?", Signals{})
	b.run("how many eggs for 37 Ducks?", Signals{})
	for ns := range numNS {
		if !slices.Equal(a.idx[ns], b.idx[ns]) {
			t.Errorf("namespace %s differs: %v vs %v", nsNames[ns], a.idx[ns], b.idx[ns])
		}
	}
	// A huge prompt is cut for n-grams but its length still counts.
	huge := strings.Repeat("é", 3*maxScan)
	e.run(huge, Signals{})
	if e.count[nsTrigram] > maxScan || math.Abs(e.dense[fLogChars]-math.Log1p(3*maxScan)) > 1e-9 {
		t.Errorf("huge: %d trigrams, log chars %v", e.count[nsTrigram], e.dense[fLogChars])
	}
}

func TestScoreAllocs(t *testing.T) {
	s := DefaultModel().NewScorer()
	for _, p := range prompts {
		s.Score(p, Signals{})
	}
	for _, p := range prompts {
		if n := testing.AllocsPerRun(20, func() { s.Score(p, Signals{Has: true, PromptPerplexity: 12, FirstTokenEntropy: 2}) }); n != 0 {
			t.Errorf("Score(%.20q) allocates %v times", p, n)
		}
	}
}

func TestExplain(t *testing.T) {
	s := DefaultModel().NewScorer()
	for _, p := range prompts {
		e := s.Explain(p, Signals{}, 3)
		if e.Score != s.Score(p, Signals{}) {
			t.Errorf("Explain score %v != Score %v", e.Score, s.Score(p, Signals{}))
		}
		if len(e.Reasons) == 0 || len(e.Reasons) > 3 {
			t.Errorf("%.20q: %d reasons", p, len(e.Reasons))
		}
		str := e.String()
		if !strings.HasPrefix(str, "difficulty 0.") || !strings.Contains(str, ": ") {
			t.Errorf("Explain string %q", str)
		}
		t.Log(str)
	}
	if got := (Explanation{Score: 0.71, Reasons: []Reason{{"math markers", 1}, {"long prompt", 0.5}}}).String(); got != "difficulty 0.71: math markers, long prompt" {
		t.Errorf("String() = %q", got)
	}
}

// trainingSet is a toy task: prompts mentioning integrals are hard.
func trainingSet() []Example {
	topics := []string{"cats", "the weather", "lunch", "a song", "football", "paris"}
	var ex []Example
	for i := range 60 {
		t := topics[i%len(topics)]
		ex = append(ex, Example{Prompt: "Tell me about " + t + ".", Label: 0},
			Example{Prompt: "Evaluate the integral of x^" + string(rune('2'+i%7)) + " about " + t + ".", Label: 1})
	}
	return ex
}

func TestTrain(t *testing.T) {
	ex := trainingSet()
	m, res, err := Train(context.Background(), ex, TrainOptions{Bits: 10, Provenance: "toy"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Loss > 0.1 || res.Iterations == 0 {
		t.Errorf("loss %v after %d iterations", res.Loss, res.Iterations)
	}
	s := m.NewScorer()
	if easy, hard := s.Score("Tell me about dogs.", Signals{}), s.Score("Evaluate the integral of x^3 about dogs.", Signals{}); !(easy < 0.3 && hard > 0.7) {
		t.Errorf("easy %v, hard %v", easy, hard)
	}
	// Deterministic: a second run gives the same file.
	m2, _, err := Train(context.Background(), ex, TrainOptions{Bits: 10, Provenance: "toy"})
	if err != nil {
		t.Fatal(err)
	}
	var b1, b2 bytes.Buffer
	if err := m.Save(&b1); err != nil {
		t.Fatal(err)
	}
	if err := m2.Save(&b2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Error("training is not deterministic")
	}
	for _, bad := range []struct {
		ex  []Example
		opt TrainOptions
	}{
		{nil, TrainOptions{}},
		{[]Example{{Prompt: "x", Label: 2}}, TrainOptions{}},
		{[]Example{{Prompt: "x", Weight: -1}}, TrainOptions{}},
		{ex, TrainOptions{Bits: 30}},
		{ex, TrainOptions{L2: -1}},
	} {
		if _, _, err := Train(context.Background(), bad.ex, bad.opt); err == nil {
			t.Errorf("Train(%d examples, %+v) succeeded", len(bad.ex), bad.opt)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Train(ctx, ex, TrainOptions{Bits: 10}); err == nil {
		t.Error("Train ignores a cancelled context")
	}
}

func TestThresholdForShare(t *testing.T) {
	scores := []float64{0.1, 0.9, 0.3, 0.7, 0.5}
	for _, tc := range []struct{ share, want float64 }{{0, 1}, {0.2, 0.8}, {0.4, 0.6}, {0.6, 0.4}, {1, 0}} {
		if got := ThresholdForShare(scores, tc.share); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("share %v: threshold %v, want %v", tc.share, got, tc.want)
		}
	}
	if got := ThresholdForShare(nil, 0.3); got != 0.5 {
		t.Errorf("no scores: %v", got)
	}
}

// TestThresholdDrift streams scores whose distribution shifts (harder
// prompts arrive later): a fixed threshold drifts far from the target share,
// the online one is back within ±5 points over the last window.
func TestThresholdDrift(t *testing.T) {
	const target, window = 0.3, 500
	rng := rand.New(rand.NewPCG(1, 2))
	easy := func() float64 { return sigmoid(rng.NormFloat64() - 1.5) }
	hard := func() float64 { return sigmoid(rng.NormFloat64() + 0.5) }
	var calib []float64
	for range 2000 {
		calib = append(calib, easy())
	}
	fixed := ThresholdForShare(calib, target)
	th, err := NewThreshold(target, window, fixed)
	if err != nil {
		t.Fatal(err)
	}
	var decisions, fixedDecisions []bool
	for i := range 4000 {
		s := easy()
		if i >= 1500 {
			s = hard()
		}
		decisions = append(decisions, th.Observe(s))
		fixedDecisions = append(fixedDecisions, s > fixed)
	}
	share := func(d []bool) float64 {
		n := 0
		for _, x := range d {
			if x {
				n++
			}
		}
		return float64(n) / float64(len(d))
	}
	last, lastFixed := share(decisions[len(decisions)-window:]), share(fixedDecisions[len(decisions)-window:])
	t.Logf("share over the last %d: online %.3f, fixed threshold %.3f (target %.2f)", window, last, lastFixed, target)
	if math.Abs(last-target) > 0.05 {
		t.Errorf("online share %.3f, want %.2f ± 0.05", last, target)
	}
	if math.Abs(lastFixed-target) < 0.2 {
		t.Errorf("the drift is too small to test: fixed threshold share %.3f", lastFixed)
	}
	for _, bad := range []struct {
		target  float64
		window  int
		initial float64
	}{{-0.1, 10, 0.5}, {1.1, 10, 0.5}, {math.NaN(), 10, 0.5}, {0.3, 0, 0.5}, {0.3, 10, 2}} {
		if _, err := NewThreshold(bad.target, bad.window, bad.initial); err == nil {
			t.Errorf("NewThreshold(%v, %v, %v) succeeded", bad.target, bad.window, bad.initial)
		}
	}
}

func TestThresholdConcurrent(t *testing.T) {
	th, err := NewThreshold(0.5, 100, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				th.Observe(float64((i*7+g)%100) / 100)
			}
		})
	}
	wg.Wait()
	if v := th.Value(); !(v > 0.3 && v < 0.7) {
		t.Errorf("threshold %v after uniform scores", v)
	}
	if !th.Observe(math.NaN()) {
		t.Error("a NaN score is not sent to the strong tier")
	}
}

// BenchmarkScore measures one routing decision's features + model on the
// prompts above; p99-ns is the 99th percentile of single calls.
func BenchmarkScore(b *testing.B) {
	for _, bc := range []struct {
		name   string
		prompt string
	}{
		{"chat", prompts[1]},
		{"mmlu", prompts[2]},
		{"chinese", prompts[5]},
		{"4KB", strings.Repeat(prompts[7], 2)[:4096]},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := DefaultModel().NewScorer()
			s.Score(bc.prompt, Signals{})
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.prompt)))
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				s.Score(bc.prompt, Signals{})
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}
