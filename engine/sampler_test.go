package engine

import (
	"math"
	"testing"
)

// sampleCounts draws n tokens and counts each id.
func sampleCounts(o SamplerOptions, logits []float32, n int) map[int32]int {
	s := NewSampler(o)
	counts := map[int32]int{}
	buf := make([]float32, len(logits))
	for i := 0; i < n; i++ {
		copy(buf, logits)
		counts[s.Sample(buf, nil)]++
	}
	return counts
}

func TestGreedy(t *testing.T) {
	s := NewSampler(SamplerOptions{})
	if got := s.Sample([]float32{0.1, 3, -1, 2.9}, nil); got != 1 {
		t.Errorf("greedy picked %d, want 1", got)
	}
}

func TestTopK(t *testing.T) {
	logits := []float32{1, 2, 3, 4, 5}
	c := sampleCounts(SamplerOptions{Temperature: 1, TopK: 2, Seed: 1}, logits, 2000)
	for id := range c {
		if id != 3 && id != 4 {
			t.Errorf("top-k 2 sampled token %d", id)
		}
	}
	// p(4)/p(3) = e: the ratio should show.
	if r := float64(c[4]) / float64(c[3]); r < 2.2 || r > 3.3 {
		t.Errorf("ratio %.2f, want about e", r)
	}
}

func TestTopPMinP(t *testing.T) {
	// probabilities 0.5, 0.25, 0.125, 0.125
	l := func(p float64) float32 { return float32(math.Log(p)) }
	logits := []float32{l(0.5), l(0.25), l(0.125), l(0.125)}
	c := sampleCounts(SamplerOptions{Temperature: 1, TopP: 0.7, Seed: 2}, logits, 2000)
	if c[2]+c[3] != 0 || c[0] == 0 || c[1] == 0 {
		t.Errorf("top-p 0.7 counts %v: want only tokens 0 and 1", c)
	}
	c = sampleCounts(SamplerOptions{Temperature: 1, MinP: 0.3, Seed: 3}, logits, 2000)
	if c[2]+c[3] != 0 || c[1] == 0 {
		t.Errorf("min-p 0.3 counts %v: want only tokens 0 and 1", c)
	}
}

func TestTemperature(t *testing.T) {
	logits := []float32{0, 1}
	cold := sampleCounts(SamplerOptions{Temperature: 0.2, Seed: 4}, logits, 4000)
	hot := sampleCounts(SamplerOptions{Temperature: 5, Seed: 4}, logits, 4000)
	if cold[0] > 100 || hot[0] < 1500 {
		t.Errorf("low temperature picked the weaker token %d/4000 times, high %d/4000", cold[0], hot[0])
	}
}

func TestPenalties(t *testing.T) {
	s := NewSampler(SamplerOptions{RepeatPenalty: 2, FrequencyPenalty: 0.5, PresencePenalty: 0.25})
	logits := []float32{4, -4, 1, 3.9}
	got := s.Sample(logits, []int32{0, 0, 1})
	// token 0: 4/2 - 2*0.5 - 0.25 = 0.75; token 1: -4*2 - 0.5 - 0.25 = -8.75
	if logits[0] != 0.75 || logits[1] != -8.75 || logits[2] != 1 || got != 3 {
		t.Errorf("penalised logits %v, pick %d", logits, got)
	}
	// Only the last PenaltyLastN tokens count.
	s = NewSampler(SamplerOptions{RepeatPenalty: 2, PenaltyLastN: 1})
	logits = []float32{4, 2}
	s.Sample(logits, []int32{0, 1})
	if logits[0] != 4 || logits[1] != 1 {
		t.Errorf("penalty window of 1: logits %v", logits)
	}
}

func TestSeedRepeats(t *testing.T) {
	logits := []float32{1, 1.1, 0.9, 1.05, 0.2}
	a := NewSampler(SamplerOptions{Temperature: 1, Seed: 9})
	b := NewSampler(SamplerOptions{Temperature: 1, Seed: 9})
	for i := 0; i < 100; i++ {
		x, y := append([]float32(nil), logits...), append([]float32(nil), logits...)
		if a.Sample(x, nil) != b.Sample(y, nil) {
			t.Fatal("same seed diverged")
		}
	}
}

func TestLogprobs(t *testing.T) {
	logits := []float32{1, 3, 2, 0.5}
	lp, top := logprobs(logits, 2, 3, nil)
	sum := 0.0
	for _, v := range logits {
		sum += math.Exp(float64(v))
	}
	want := 2 - math.Log(sum)
	if math.Abs(float64(lp)-want) > 1e-5 {
		t.Errorf("logprob %v, want %v", lp, want)
	}
	if len(top) != 3 || top[0].ID != 1 || top[1].ID != 2 || top[2].ID != 0 {
		t.Errorf("top %v, want ids 1, 2, 0", top)
	}
	if math.Abs(float64(top[0].Logprob)-(3-math.Log(sum))) > 1e-5 {
		t.Errorf("top logprob %v", top[0].Logprob)
	}
}
