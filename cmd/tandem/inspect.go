package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/tandem-llm/tandem/units"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/tandem-llm/tandem/engine"
	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/model"
)

func cmdInspect(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	ctxLen := fs.Int("c", 0, "context length for the memory estimate (default: the model's)")
	tensors := fs.Bool("tensors", false, "list every tensor")
	meta := fs.Bool("meta", false, "list all metadata (long arrays shortened)")
	// Accept flags after the file name too: tandem inspect MODEL.gguf -c 512.
	var path string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		path, args = args[0], args[1:]
	}
	rest, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	if path == "" && len(rest) > 0 {
		path, rest = rest[0], rest[1:]
	}
	if path == "" || len(rest) > 0 {
		return usageError{errors.New("inspect: give exactly one MODEL.gguf")}
	}
	f, err := gguf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()

	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	arch, _ := f.String("general.architecture")
	name, _ := f.String("general.name")
	fmt.Fprintf(w, "file\t%s\n", path)
	fmt.Fprintf(w, "file size\t%s (%d bytes)\n", units.FormatBytes(f.Size), f.Size)
	fmt.Fprintf(w, "GGUF version\t%d\n", f.Version)
	fmt.Fprintf(w, "name\t%s\n", name)
	fmt.Fprintf(w, "architecture\t%s\n", arch)
	if tm, ok := f.String("tokenizer.ggml.model"); ok {
		toks, _ := f.Strings("tokenizer.ggml.tokens")
		pre, _ := f.String("tokenizer.ggml.pre")
		fmt.Fprintf(w, "tokenizer\t%s (pre %q), %d tokens\n", tm, pre, len(toks))
	}

	var params, weightBytes int64
	byType := map[gguf.Type]int{}
	for _, t := range f.Tensors {
		params += int64(t.NumElements())
		weightBytes += int64(t.Size())
		byType[t.Type]++
	}
	fmt.Fprintf(w, "tensors\t%d, %s parameters, %s of data\n", len(f.Tensors), humanCount(params), units.FormatBytes(weightBytes))
	var types []string
	for t, n := range byType {
		types = append(types, fmt.Sprintf("%s×%d", t, n))
	}
	sort.Strings(types)
	fmt.Fprintf(w, "tensor types\t%s\n", strings.Join(types, ", "))

	if len(f.Tensors) > 0 {
		m, err := model.FromFile(f)
		if err != nil {
			fmt.Fprintf(w, "runnable\tno: %v\n", err)
		} else {
			c := m.Config
			fmt.Fprintf(w, "shape\tdim %d, %d layers, %d heads (%d KV, head size %d), FFN %d, vocab %d\n",
				c.Dim, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FFN, c.Vocab)
			fmt.Fprintf(w, "context\t%d (training)\n", c.ContextLen)
			fmt.Fprintf(w, "rope\t%s, %d dims, base %g, freq scale %g%s\n", c.Rope.Style, c.Rope.Dims, c.Rope.Base,
				c.Rope.FreqScale, map[bool]string{true: ", rope_freqs.weight factors", false: ""}[c.Rope.FreqFactors != nil])
			tied := m.Output.Name == m.Embed.Name
			fmt.Fprintf(w, "output\t%s\n", map[bool]string{true: "tied to token_embd", false: "separate output.weight"}[tied])
			ctx := *ctxLen
			if ctx <= 0 {
				ctx = c.ContextLen
			}
			mem := engine.EstimateMemory(m, ctx)
			fmt.Fprintf(w, "memory at context %d\t%s (weights %s + KV cache %s + scratch %s)\n", ctx,
				units.FormatBytes(mem.Total()), units.FormatBytes(mem.Weights), units.FormatBytes(mem.KV), units.FormatBytes(mem.Scratch))
		}
	}
	if *meta {
		fmt.Fprintln(w, "\nmetadata:")
		for _, kv := range f.KV {
			fmt.Fprintf(w, "  %s\t%s\n", kv.Key, shortValue(kv.Value))
		}
	}
	if *tensors {
		fmt.Fprintln(w, "\ntensors:")
		for _, t := range f.Tensors {
			fmt.Fprintf(w, "  %s\t%s\t%v\t%s\n", t.Name, t.Type, t.Dims, units.FormatBytes(int64(t.Size())))
		}
	}
	return w.Flush()
}

func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func shortValue(v any) string {
	s := fmt.Sprint(v)
	s = strings.ReplaceAll(s, "\n", `\n`)
	if len(s) > 80 {
		s = s[:80] + fmt.Sprintf("… (%T)", v)
	}
	return s
}
