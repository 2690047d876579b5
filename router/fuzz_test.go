package router

import (
	"bytes"
	"math"
	"testing"
)

func FuzzLoadModel(f *testing.F) {
	f.Add(defaultModelJSON)
	f.Add(defaultModelJSON[:100])
	f.Add([]byte(`{"format":"tandem-router","version":1,"buckets":256,"hashed":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadModel(bytes.NewReader(data))
		if err != nil {
			return
		}
		if s := m.NewScorer().Score("What is 2+2?", Signals{}); !(s >= 0 && s <= 1) {
			t.Fatalf("loaded model scores %v", s)
		}
	})
}

func FuzzScore(f *testing.F) {
	for _, p := range prompts {
		f.Add(p, 10.0, 1.0, true)
	}
	f.Add("", math.NaN(), math.Inf(1), true)
	f.Add("\xff\xfe A.\nB)", -1.0, -1.0, true)
	s := DefaultModel().NewScorer()
	f.Fuzz(func(t *testing.T, prompt string, ppl, ent float64, has bool) {
		sig := Signals{PromptPerplexity: ppl, FirstTokenEntropy: ent, Has: has}
		if p := s.Score(prompt, sig); !(p >= 0 && p <= 1) {
			t.Fatalf("Score(%q, %+v) = %v", prompt, sig, p)
		}
	})
}
