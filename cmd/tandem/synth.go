package main

import (
	"flag"
	"fmt"
	"github.com/tandem-llm/tandem/units"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/synth"
)

func cmdSynth(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("synth", flag.ContinueOnError)
	preset := fs.String("preset", "", "model shape: "+strings.Join(synth.PresetNames(), ", "))
	ftype := fs.String("type", "Q8_0", "file type: F32, F16, Q8_0, Q4_0, Q4_K_M, Q5_K_M, Q6_K (llama-quantize's tensor mix)")
	out := fs.String("o", "", "output `file` (default: PRESET-TYPE.gguf)")
	vocabDir := fs.String("vocab-dir", "../shared/tokenizer", "`directory` holding llama.cpp's ggml-vocab-*.gguf files")
	seed := fs.Uint64("seed", 1, "random seed for the weights")
	rest, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Errorf("synth: unexpected argument %q", rest[0])}
	}
	p, ok := synth.Presets()[*preset]
	if !ok {
		return usageError{fmt.Errorf("synth: --preset must be one of %s", strings.Join(synth.PresetNames(), ", "))}
	}
	base, typeFor, err := synth.Mix(*ftype, p.Layers, p.Tied)
	if err != nil {
		return usageError{fmt.Errorf("synth: %w", err)}
	}
	if *out == "" {
		*out = fmt.Sprintf("%s-%s.gguf", *preset, strings.ToUpper(*ftype))
	}
	vf, err := gguf.Open(filepath.Join(*vocabDir, p.VocabFile))
	if err != nil {
		return fmt.Errorf("synth: vocabulary: %w", err)
	}
	defer vf.Close()
	spec := p.Spec
	spec.Type, spec.TypeFor, spec.Seed, spec.Vocab = base, typeFor, *seed, vf
	spec.Name = fmt.Sprintf("%s-%s", spec.Name, strings.ToUpper(*ftype))
	start := time.Now()
	fmt.Fprintf(stderr, "writing %s (%s shape, %s, random weights)...\n", *out, *preset, *ftype)
	if err := synth.Write(*out, spec); err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s in %.1fs\n", *out, units.FormatBytes(st.Size()), time.Since(start).Seconds())
	return nil
}
