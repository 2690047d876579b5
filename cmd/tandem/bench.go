package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/tandem-llm/tandem/units"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/tandem-llm/tandem/engine"
	"github.com/tandem-llm/tandem/kernels"
)

// benchResult is the --json output of tandem bench, modelled on llama-bench.
type benchResult struct {
	Model     string  `json:"model"`
	SizeBytes int64   `json:"size_bytes"`
	Params    int64   `json:"params"`
	Threads   int     `json:"threads"`
	NPrompt   int     `json:"n_prompt"`
	NGen      int     `json:"n_gen"`
	Reps      int     `json:"reps"`
	PPTokS    float64 `json:"pp_tok_s"`
	PPStd     float64 `json:"pp_std"`
	TGTokS    float64 `json:"tg_tok_s"`
	TGStd     float64 `json:"tg_std"`
	Kernels   string  `json:"kernels"`
	PeakRSS   int64   `json:"peak_rss_bytes"`
	// Decode reads every weight once per token: weight bytes × tg tok/s,
	// and the machine's streaming-read bandwidth on as many threads.
	DecodeGBs float64 `json:"decode_gb_s"`
	StreamGBs float64 `json:"stream_read_gb_s,omitempty"`
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	modelPath := fs.String("m", "", "model `file` (GGUF)")
	nPrompt := fs.Int("p", 128, "prompt tokens for the prefill test (0: skip)")
	nGen := fs.Int("n", 64, "tokens for the decode test (0: skip)")
	threads := fs.Int("t", 0, "threads (default: all CPUs)")
	reps := fs.Int("r", 5, "repetitions after one warm-up run")
	asJSON := fs.Bool("json", false, "print one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed runs to `file` (go tool pprof)")
	membw := fs.Bool("membw", false, "also measure the machine's streaming-read bandwidth for comparison")
	rest, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Errorf("bench: unexpected argument %q", rest[0])}
	}
	if *modelPath == "" {
		return usageError{errors.New("bench: -m MODEL.gguf is required")}
	}
	if *nPrompt < 0 || *nGen < 0 || *reps < 1 || (*nPrompt == 0 && *nGen == 0) {
		return usageError{errors.New("bench: need -p ≥ 0, -n ≥ 0 (not both 0) and -r ≥ 1")}
	}
	e, err := engine.Load(*modelPath, engine.Options{Threads: *threads, Context: max(*nPrompt, *nGen)})
	if err != nil {
		return err
	}
	defer e.Close()
	sess, err := e.NewSession(0)
	if err != nil {
		return err
	}
	defer sess.Close()

	// Token ids spread over the vocabulary, like llama-bench's random tokens.
	vocab := e.Model.Config.Vocab
	toks := make([]int32, max(*nPrompt, *nGen))
	for i := range toks {
		toks[i] = int32((i*7919 + 1) % vocab)
	}
	pp := func() (float64, error) {
		sess.Reset()
		start := time.Now()
		if err := sess.Prefill(ctx, toks[:*nPrompt]); err != nil {
			return 0, err
		}
		return float64(*nPrompt) / time.Since(start).Seconds(), nil
	}
	tg := func() (float64, error) {
		sess.Reset()
		start := time.Now()
		for i := 0; i < *nGen; i++ {
			if err := sess.Prefill(ctx, toks[i:i+1]); err != nil {
				return 0, err
			}
		}
		return float64(*nGen) / time.Since(start).Seconds(), nil
	}
	res := benchResult{
		Model: filepath.Base(*modelPath), SizeBytes: e.Model.WeightBytes(), Params: e.Model.ParamCount(),
		Threads: e.Threads(), NPrompt: *nPrompt, NGen: *nGen, Reps: *reps, Kernels: kernels.Kernels(),
	}
	if !*asJSON {
		fmt.Fprintf(stderr, "bench %s: %s, %d threads, kernels %s, %d reps after a warm-up\n",
			res.Model, units.FormatBytes(res.SizeBytes), res.Threads, res.Kernels, *reps)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *nPrompt > 0 {
		if res.PPTokS, res.PPStd, err = measure(pp, *reps); err != nil {
			return err
		}
	}
	if *nGen > 0 {
		if res.TGTokS, res.TGStd, err = measure(tg, *reps); err != nil {
			return err
		}
	}
	res.PeakRSS = engine.PeakRSS()
	res.DecodeGBs = float64(res.SizeBytes) * res.TGTokS / 1e9
	if *membw {
		res.StreamGBs = streamRead(res.Threads, 5) / 1e9
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "| model | size | params | threads | kernels | test | t/s |\n|---|---|---|---|---|---|---|\n")
	row := func(test string, v, sd float64) {
		fmt.Fprintf(stdout, "| %s | %s | %s | %d | %s | %s | %.2f ± %.2f |\n", res.Model, units.FormatBytes(res.SizeBytes),
			humanCount(res.Params), res.Threads, res.Kernels, test, v, sd)
	}
	if *nPrompt > 0 {
		row(fmt.Sprintf("pp%d", *nPrompt), res.PPTokS, res.PPStd)
	}
	if *nGen > 0 {
		row(fmt.Sprintf("tg%d", *nGen), res.TGTokS, res.TGStd)
		fmt.Fprintf(stdout, "\ndecode reads %.1f GB/s of weights", res.DecodeGBs)
		if res.StreamGBs > 0 {
			fmt.Fprintf(stdout, "; streaming read on %d threads: %.1f GB/s (%.0f%%)", res.Threads, res.StreamGBs, 100*res.DecodeGBs/res.StreamGBs)
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

// measure runs f once to warm up, then reps times, returning mean and
// sample standard deviation.
func measure(f func() (float64, error), reps int) (mean, std float64, err error) {
	if _, err := f(); err != nil {
		return 0, 0, err
	}
	xs := make([]float64, reps)
	for i := range xs {
		if xs[i], err = f(); err != nil {
			return 0, 0, err
		}
		mean += xs[i]
	}
	mean /= float64(reps)
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	if reps > 1 {
		std = math.Sqrt(std / float64(reps-1))
	}
	return mean, std, nil
}
