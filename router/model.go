package router

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
)

// Signals are the local model's own view of a prompt, when it is loaded.
type Signals struct {
	PromptPerplexity  float64 // perplexity of the prompt under the local model
	FirstTokenEntropy float64 // entropy (nats) of the local model's first answer token
	Has               bool    // false: the two fields are unknown
}

// Model is a logistic regression over dense prompt features and hashed word
// uni/bi-grams and character trigrams. It is immutable after loading and safe
// for concurrent use; score with a Scorer per goroutine.
type Model struct {
	shift      uint // bucket = hash >> shift
	mean       [numDense]float64
	scale      [numDense]float64
	dense      [numDense]float64
	bias       float64
	hashed     []float32
	threshold  float64
	provenance string
}

const (
	fileFormat  = "tandem-router"
	fileVersion = 1
	maxFileSize = 64 << 20
	minBits     = 8
	maxBits     = 22
)

// modelFile is the JSON form of a Model.
type modelFile struct {
	Format     string    `json:"format"`
	Version    int       `json:"version"`
	Provenance string    `json:"provenance,omitempty"`
	Threshold  float64   `json:"threshold"`
	Bias       float64   `json:"bias"`
	Features   []string  `json:"features"`
	Mean       []float64 `json:"mean"`
	Scale      []float64 `json:"scale"`
	Dense      []float64 `json:"dense"`
	Buckets    int       `json:"buckets"`
	Hashed     string    `json:"hashed"` // base64 of little-endian float32 weights
}

// LoadModel reads a model written by Save.
func LoadModel(r io.Reader) (*Model, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("router: read model: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("router: model file larger than %d bytes", maxFileSize)
	}
	var f modelFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("router: decode model: %w", err)
	}
	if f.Format != fileFormat {
		return nil, fmt.Errorf("router: model format %q, want %q", f.Format, fileFormat)
	}
	if f.Version != fileVersion {
		return nil, fmt.Errorf("router: model version %d, this build reads version %d", f.Version, fileVersion)
	}
	if len(f.Features) != numDense {
		return nil, fmt.Errorf("router: model has %d dense features, this build has %d", len(f.Features), numDense)
	}
	for i, name := range f.Features {
		if name != denseSpecs[i].name {
			return nil, fmt.Errorf("router: model dense feature %d is %q, this build has %q", i, name, denseSpecs[i].name)
		}
	}
	for _, v := range []struct {
		name string
		x    []float64
	}{{"mean", f.Mean}, {"scale", f.Scale}, {"dense", f.Dense}} {
		if len(v.x) != numDense {
			return nil, fmt.Errorf("router: model %s has %d values, want %d", v.name, len(v.x), numDense)
		}
		for i, x := range v.x {
			if !finite(x) {
				return nil, fmt.Errorf("router: model %s[%d] is not finite", v.name, i)
			}
		}
	}
	if !finite(f.Bias) {
		return nil, errors.New("router: model bias is not finite")
	}
	if !(f.Threshold >= 0 && f.Threshold <= 1) {
		return nil, fmt.Errorf("router: model threshold %v outside [0,1]", f.Threshold)
	}
	bits := 0
	for bits <= maxBits && 1<<bits < f.Buckets {
		bits++
	}
	if bits < minBits || bits > maxBits || 1<<bits != f.Buckets {
		return nil, fmt.Errorf("router: model buckets %d: want a power of two in [2^%d, 2^%d]", f.Buckets, minBits, maxBits)
	}
	raw, err := base64.StdEncoding.DecodeString(f.Hashed)
	if err != nil {
		return nil, fmt.Errorf("router: model hashed weights: %w", err)
	}
	if len(raw) != 4*f.Buckets {
		return nil, fmt.Errorf("router: model hashed weights are %d bytes, want %d for %d buckets", len(raw), 4*f.Buckets, f.Buckets)
	}
	m := &Model{
		shift:      uint(64 - bits),
		bias:       f.Bias,
		hashed:     make([]float32, f.Buckets),
		threshold:  f.Threshold,
		provenance: f.Provenance,
	}
	for i := range m.hashed {
		w := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		if !finite(float64(w)) {
			return nil, fmt.Errorf("router: model hashed weight %d is not finite", i)
		}
		m.hashed[i] = w
	}
	for i := range numDense {
		if !(f.Scale[i] > 0) {
			return nil, fmt.Errorf("router: model scale[%d] = %v, want > 0", i, f.Scale[i])
		}
		m.mean[i], m.scale[i], m.dense[i] = f.Mean[i], f.Scale[i], f.Dense[i]
	}
	return m, nil
}

// LoadModelFile reads a model file written by Save.
func LoadModelFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	defer f.Close()
	m, err := LoadModel(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Save writes the model as indented JSON; the same model always gives the same bytes.
func (m *Model) Save(w io.Writer) error {
	raw := make([]byte, 4*len(m.hashed))
	for i, x := range m.hashed {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	f := modelFile{
		Format:     fileFormat,
		Version:    fileVersion,
		Provenance: m.provenance,
		Threshold:  m.threshold,
		Bias:       m.bias,
		Features:   make([]string, numDense),
		Mean:       m.mean[:],
		Scale:      m.scale[:],
		Dense:      m.dense[:],
		Buckets:    len(m.hashed),
		Hashed:     base64.StdEncoding.EncodeToString(raw),
	}
	for i := range f.Features {
		f.Features[i] = denseSpecs[i].name
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("router: encode model: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("router: write model: %w", err)
	}
	return nil
}

// Threshold is the calibrated decision threshold stored with the model
// (score > Threshold → strong tier); 0.5 until calibrated.
func (m *Model) Threshold() float64 { return m.threshold }

// WithThreshold returns a copy of m with the decision threshold t (clamped to [0,1]).
func (m *Model) WithThreshold(t float64) *Model {
	c := *m
	if !finite(t) {
		t = 0.5
	}
	c.threshold = clamp(t, 0, 1)
	return &c
}

// Provenance says how the model was trained (the command line).
func (m *Model) Provenance() string { return m.provenance }

//go:embed default_model.json
var defaultModelJSON []byte

// defaultModel parses the embedded model once; it is immutable afterwards.
var defaultModel = sync.OnceValue(func() *Model {
	m, err := LoadModel(bytes.NewReader(defaultModelJSON))
	if err != nil {
		// The embedded file is checked by TestDefaultModelLoads.
		panic(fmt.Sprintf("router: embedded default model: %v", err))
	}
	return m
})

// DefaultModel returns the committed model trained on RouteLLM's MMLU and
// GSM8K data (see the package documentation for the command).
func DefaultModel() *Model { return defaultModel() }

// Scorer holds one goroutine's scratch space; after the first calls on
// prompts of a given size, Score allocates nothing. Not safe for concurrent use.
type Scorer struct {
	m   *Model
	ex  extractor
	top topHashed // Explain's scratch
}

// NewScorer returns a Scorer for m.
func (m *Model) NewScorer() *Scorer {
	return &Scorer{m: m, ex: extractor{w: m.hashed, shift: m.shift}}
}

// maxZ bounds standardised dense features, so an extreme prompt cannot
// dominate the score.
const maxZ = 8

// logit computes the decision logit from the extractor's current features.
func (m *Model) logit(e *extractor) float64 {
	z := m.bias
	for i := range numDense {
		z += m.dense[i] * clamp((e.dense[i]-m.mean[i])/m.scale[i], -maxZ, maxZ)
	}
	for ns := range numNS {
		if e.count[ns] > 0 {
			z += e.sum[ns] / math.Sqrt(float64(e.count[ns]))
		}
	}
	return z
}

func sigmoid(z float64) float64 {
	z = clamp(z, -30, 30)
	return 1 / (1 + math.Exp(-z))
}

// Score returns the predicted need for the stronger tier, in [0,1]: the
// probability that the local model gets the prompt wrong.
func (s *Scorer) Score(prompt string, sig Signals) float64 {
	s.ex.run(prompt, sig)
	return sigmoid(s.m.logit(&s.ex))
}
