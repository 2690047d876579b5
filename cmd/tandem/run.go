package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/tandem-llm/tandem/units"
	"io"
	"os"
	"time"

	"github.com/tandem-llm/tandem/engine"
)

// runStats is the --json output of tandem run.
type runStats struct {
	Text         string  `json:"text"`
	PromptTokens []int32 `json:"prompt_tokens"`
	Tokens       []int32 `json:"tokens"`
	NPrompt      int     `json:"n_prompt"`
	NGen         int     `json:"n_gen"`
	TTFTms       float64 `json:"ttft_ms"`
	PrefillTokS  float64 `json:"prefill_tok_s"`
	DecodeTokS   float64 `json:"decode_tok_s"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
	StopReason   string  `json:"stop_reason"`
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	modelPath := fs.String("m", "", "model `file` (GGUF)")
	prompt := fs.String("p", "", "prompt text; empty starts from BOS")
	promptFile := fs.String("f", "", "read the prompt from `file`")
	n := fs.Int("n", 128, "tokens to generate (-1: until EOS or the context is full)")
	def := engine.DefaultSampler()
	temp := fs.Float64("temp", float64(def.Temperature), "temperature; 0 is greedy")
	topK := fs.Int("top-k", def.TopK, "top-k sampling (0: off)")
	topP := fs.Float64("top-p", float64(def.TopP), "top-p sampling (1: off)")
	minP := fs.Float64("min-p", float64(def.MinP), "min-p sampling (0: off)")
	repeat := fs.Float64("repeat-penalty", 1, "repetition penalty (1: off)")
	freq := fs.Float64("frequency-penalty", 0, "frequency penalty")
	presence := fs.Float64("presence-penalty", 0, "presence penalty")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed (default: time)")
	threads := fs.Int("t", 0, "threads (default: all CPUs)")
	ctxLen := fs.Int("c", 0, "context length in tokens (default: the model's, at most 4096)")
	memLimit := fs.String("mem-limit", "", "refuse to load if weights + KV cache + scratch exceed this `size` (e.g. 512M)")
	asJSON := fs.Bool("json", false, "print one JSON object with the text and statistics instead of streaming")
	var stops stringList
	fs.Var(&stops, "stop", "stop when this `string` is generated (repeatable)")
	rest, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Errorf("run: unexpected argument %q (the prompt goes in -p)", rest[0])}
	}
	if *modelPath == "" {
		return usageError{errors.New("run: -m MODEL.gguf is required")}
	}
	if *promptFile != "" {
		if *prompt != "" {
			return usageError{errors.New("run: give either -p or -f, not both")}
		}
		b, err := os.ReadFile(*promptFile)
		if err != nil {
			return err
		}
		*prompt = string(b)
	}
	var limit int64
	if *memLimit != "" {
		if limit, err = units.ParseBytes(*memLimit); err != nil {
			return usageError{fmt.Errorf("run: --mem-limit: %w", err)}
		}
	}
	if *temp < 0 || *topP < 0 || *minP < 0 || *minP > 1 {
		return usageError{errors.New("run: --temp, --top-p and --min-p must be ≥ 0 (and --min-p ≤ 1)")}
	}

	e, err := engine.Load(*modelPath, engine.Options{Threads: *threads, Context: *ctxLen, MemLimit: limit})
	if err != nil {
		return err
	}
	defer e.Close()
	sess, err := e.NewSession(0)
	if err != nil {
		return err
	}
	defer sess.Close()

	// An empty prompt starts from BOS alone.
	toks := e.Tokenize(*prompt, true, false)
	if len(toks) == 0 {
		if e.Tokenizer.BOS() < 0 {
			return errors.New("run: the prompt is empty and the vocabulary has no BOS token to start from")
		}
		toks = []int32{e.Tokenizer.BOS()}
	}
	if *n >= 0 && len(toks)+*n > sess.Context() {
		return fmt.Errorf("%w: prompt of %d tokens + %d to generate exceed the context of %d (raise -c or lower -n)",
			engine.ErrContextOverflow, len(toks), *n, sess.Context())
	}

	start := time.Now()
	if err := sess.Prefill(ctx, toks); err != nil {
		return err
	}
	prefill := time.Since(start)
	var ttft time.Duration
	opts := engine.GenerateOptions{
		MaxTokens: *n,
		Stop:      stops,
		Sampler: engine.SamplerOptions{
			Temperature: float32(*temp), TopK: *topK, TopP: float32(*topP), MinP: float32(*minP),
			RepeatPenalty: float32(*repeat), FrequencyPenalty: float32(*freq), PresencePenalty: float32(*presence),
			Seed: *seed,
		},
	}
	if !*asJSON {
		fmt.Fprint(stdout, *prompt)
	}
	var res engine.Result
	var genErr error
	if *n != 0 {
		res, genErr = sess.Generate(ctx, opts, func(t engine.Token) error {
			if ttft == 0 {
				ttft = time.Since(start)
			}
			if !*asJSON {
				_, err := io.WriteString(stdout, t.Text)
				return err
			}
			return nil
		})
	}
	if genErr != nil && !errors.Is(genErr, engine.ErrContextOverflow) && !errors.Is(genErr, context.Canceled) {
		return genErr
	}
	st := runStats{
		Text: res.Text, PromptTokens: toks, Tokens: res.Tokens, NPrompt: len(toks), NGen: len(res.Tokens),
		TTFTms:       ms(ttft),
		PrefillTokS:  rate(len(toks), prefill),
		DecodeTokS:   rate(len(res.Tokens)-1, res.Decode-(ttft-prefill)),
		PeakRSSBytes: engine.PeakRSS(),
		StopReason:   res.StopReason,
	}
	if st.Tokens == nil {
		st.Tokens = []int32{}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(st); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(stdout)
		fmt.Fprintf(stderr, "prompt %d tokens, %.1f tok/s | generated %d tokens, %.1f tok/s | ttft %.1f ms | peak RSS %s | stop: %s\n",
			st.NPrompt, st.PrefillTokS, st.NGen, st.DecodeTokS, st.TTFTms, units.FormatBytes(st.PeakRSSBytes), st.StopReason)
	}
	return genErr
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// rate is tokens per second, 0 when there is nothing to measure.
func rate(n int, d time.Duration) float64 {
	if n <= 0 || d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
