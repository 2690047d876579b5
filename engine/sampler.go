package engine

import (
	"math"
	"math/rand/v2"
	"slices"
)

// SamplerOptions select the next token from the logits. The zero value
// with Temperature 0 is greedy decoding.
type SamplerOptions struct {
	Temperature float32 // ≤ 0: greedy (argmax)
	TopK        int     // keep the K most likely tokens; ≤ 0: all
	TopP        float32 // keep the smallest set with cumulative probability ≥ P; ≥ 1 or ≤ 0: all
	MinP        float32 // drop tokens less likely than MinP × the top token's probability; ≤ 0: off
	// Penalties over the last PenaltyLastN tokens (prompt included), as in
	// llama.cpp: repetition divides positive logits and multiplies negative
	// ones; frequency and presence subtract count×F and P.
	RepeatPenalty    float32 // 1 or 0: off
	FrequencyPenalty float32
	PresencePenalty  float32
	PenaltyLastN     int    // 0: 64; < 0: whole history
	Seed             uint64 // same seed, same model, same prompt → same text
}

// DefaultSampler matches llama.cpp's defaults.
func DefaultSampler() SamplerOptions {
	return SamplerOptions{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1, PenaltyLastN: 64}
}

// Sampler picks tokens; its buffers are reused across calls.
type Sampler struct {
	o     SamplerOptions
	rng   *rand.Rand
	cands []cand
	count map[int32]int
}

type cand struct {
	id int32
	p  float32 // logit, then probability
}

// NewSampler returns a sampler seeded from o.Seed.
func NewSampler(o SamplerOptions) *Sampler {
	return &Sampler{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x74616e64656d)), count: map[int32]int{}}
}

// Sample picks a token from logits, given the tokens so far (for
// penalties). It modifies logits when penalties apply.
func (s *Sampler) Sample(logits []float32, history []int32) int32 {
	s.applyPenalties(logits, history)
	if s.o.Temperature <= 0 {
		return argmax(logits)
	}
	c := s.cands[:0]
	for i, l := range logits {
		c = append(c, cand{int32(i), l})
	}
	s.cands = c
	// Sorting by logit once makes top-k, top-p and min-p prefix cuts.
	slices.SortFunc(c, func(a, b cand) int {
		switch {
		case a.p > b.p:
			return -1
		case a.p < b.p:
			return 1
		}
		return int(a.id - b.id)
	})
	if k := s.o.TopK; k > 0 && k < len(c) {
		c = c[:k]
	}
	softmaxCands(c)
	if p := s.o.TopP; p > 0 && p < 1 {
		cum := float32(0)
		for i := range c {
			cum += c[i].p
			if cum >= p {
				c = c[:i+1]
				break
			}
		}
	}
	if mp := s.o.MinP; mp > 0 {
		limit := c[0].p * mp
		n := 1
		for n < len(c) && c[n].p >= limit {
			n++
		}
		c = c[:n]
	}
	// Temperature applies to the kept logits; recompute from probabilities.
	for i := range c {
		c[i].p = float32(math.Log(float64(c[i].p))) / s.o.Temperature
	}
	softmaxCands(c)
	r := s.rng.Float32()
	cum := float32(0)
	for _, x := range c {
		cum += x.p
		if r < cum {
			return x.id
		}
	}
	return c[len(c)-1].id
}

func (s *Sampler) applyPenalties(logits []float32, history []int32) {
	o := s.o
	if (o.RepeatPenalty == 0 || o.RepeatPenalty == 1) && o.FrequencyPenalty == 0 && o.PresencePenalty == 0 {
		return
	}
	n := o.PenaltyLastN
	if n == 0 {
		n = 64
	}
	if n > 0 && len(history) > n {
		history = history[len(history)-n:]
	}
	clear(s.count)
	for _, t := range history {
		if t >= 0 && int(t) < len(logits) {
			s.count[t]++
		}
	}
	for t, cnt := range s.count {
		l := logits[t]
		if o.RepeatPenalty != 0 && o.RepeatPenalty != 1 {
			if l > 0 {
				l /= o.RepeatPenalty
			} else {
				l *= o.RepeatPenalty
			}
		}
		l -= float32(cnt)*o.FrequencyPenalty + o.PresencePenalty
		logits[t] = l
	}
}

func argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}

// softmaxCands turns the values of c (sorted, largest first) into
// probabilities.
func softmaxCands(c []cand) {
	maxv := c[0].p
	sum := float32(0)
	for i := range c {
		c[i].p = float32(math.Exp(float64(c[i].p - maxv)))
		sum += c[i].p
	}
	for i := range c {
		c[i].p /= sum
	}
}
