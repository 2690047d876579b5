package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/tandem-llm/tandem/router"
	"github.com/tandem-llm/tandem/router/offline"
)

const routerUsage = `Usage:
  tandem router train --data DIR|FILE... --strong COL --weak COL [--split subject|none] [--holdout 0.3] [--seed 1] [--target-share 0.3] [-o model.json]
  tandem router eval --data DIR|FILE... --strong COL --weak COL [--model FILE] [--json] [--plot out.png]
  tandem router score [--model FILE] --data FILE.csv
  tandem router calibrate [--model FILE] --data DIR|FILE... (--target-share S | --target-cost C --strong-cost X --weak-cost Y) [-o FILE]

COL is a model column's full name or a unique substring of it (--strong gpt-4 --weak mixtral).
Without --model, the built-in default model is used.
`

func cmdRouter(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, routerUsage)
		return usageError{errors.New("router: no subcommand given")}
	}
	switch args[0] {
	case "train":
		return cmdRouterTrain(ctx, args[1:], stdout, stderr)
	case "eval":
		return cmdRouterEval(args[1:], stdout, stderr)
	case "score":
		return cmdRouterScore(args[1:], stdout, stderr)
	case "calibrate":
		return cmdRouterCalibrate(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, routerUsage)
		return nil
	}
	fmt.Fprint(stderr, routerUsage)
	return usageError{fmt.Errorf("router: unknown subcommand %q", args[0])}
}

// listFlag collects a repeated flag; each value may also list several paths.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// dataFlags registers the flags shared by train and eval.
func dataFlags(fs *flag.FlagSet, c *offline.Config) *listFlag {
	data := &listFlag{}
	fs.Var(data, "data", "CSV file or directory of CSV files (repeatable; more paths may follow the flags)")
	fs.StringVar(&c.Strong, "strong", "", "strong model column (name or unique substring)")
	fs.StringVar(&c.Weak, "weak", "", "weak (local) model column (name or unique substring)")
	fs.StringVar(&c.Split, "split", "subject", "subject: hold out whole subjects; none: use every row for both")
	fs.Float64Var(&c.Holdout, "holdout", 0.3, "share of subjects held out for testing")
	fs.Int64Var(&c.Seed, "seed", 1, "seed of the subject split")
	return data
}

func finishDataFlags(c *offline.Config, data *listFlag, rest []string) error {
	c.Data = append(append([]string{}, *data...), rest...)
	switch {
	case len(c.Data) == 0:
		return usageError{errors.New("--data is required")}
	case c.Strong == "" || c.Weak == "":
		return usageError{errors.New("--strong and --weak are required")}
	}
	return nil
}

func cmdRouterTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("router train", flag.ContinueOnError)
	var c offline.Config
	data := dataFlags(fs, &c)
	out := fs.String("o", "", "write the model to this file")
	var opt router.TrainOptions
	fs.IntVar(&opt.Bits, "bits", 14, "log2 of the hashed n-gram buckets")
	fs.Float64Var(&opt.L2, "l2", 1e-4, "L2 penalty")
	fs.IntVar(&opt.MaxIter, "iters", 200, "L-BFGS iterations")
	fs.Float64Var(&c.TargetShare, "target-share", 0.3, "set the model's threshold so this share of the training rows goes to the strong tier (0: keep 0.5)")
	rest, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	if err := finishDataFlags(&c, data, rest); err != nil {
		return err
	}
	d, err := offline.Prepare(c)
	if err != nil {
		return err
	}
	printSplit(stdout, c, d)
	m, res, err := offline.Train(ctx, c, d, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trained: %d L-BFGS iterations, train log loss %.4f (objective %.4f)\n", res.Iterations, res.Loss, res.Objective)
	if c.Split == "subject" {
		rep, err := offline.Evaluate(d.Test, offline.Score(m, d.Test))
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, "held-out metrics:")
		printReport(stdout, rep)
	}
	if *out != "" {
		return writeModel(*out, m)
	}
	return nil
}

func printSplit(w io.Writer, c offline.Config, d *offline.Dataset) {
	fmt.Fprintf(w, "strong: %s\nweak:   %s\n", d.Strong, d.Weak)
	if c.Split == "none" {
		fmt.Fprintf(w, "rows: %d (no split: train and test on every row)\n", len(d.Train))
		return
	}
	fmt.Fprintf(w, "train: %d rows, test: %d rows (seed %d, holdout %g)\n", len(d.Train), len(d.Test), c.Seed, c.Holdout)
	fmt.Fprintf(w, "held-out subjects (%d): %s\n", len(d.TestSubjects), strings.Join(d.TestSubjects, ", "))
}

func printReport(w io.Writer, rep *offline.Report) {
	fmt.Fprintf(w, "rows %d, quality weak %.4f, strong %.4f\n", rep.Rows, rep.QWeak, rep.QStrong)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tAPGR\tCPT(50%)\tCPT(80%)\tAIQ\t")
	pct := func(m offline.Metric) string {
		if math.IsNaN(float64(m)) {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(m))
	}
	num := func(m offline.Metric) string {
		if math.IsNaN(float64(m)) {
			return "-"
		}
		return fmt.Sprintf("%.4f", float64(m))
	}
	for _, p := range rep.Policies {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", p.Name, num(p.APGR), pct(p.CPT50), pct(p.CPT80), num(p.AIQ))
	}
	tw.Flush()
}

func writeModel(path string, m *router.Model) error {
	var b bytes.Buffer
	if err := m.Save(&b); err != nil {
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	return nil
}

func loadModelFlag(path string) (*router.Model, error) {
	if path == "" {
		return router.DefaultModel(), nil
	}
	return router.LoadModelFile(path)
}

func cmdRouterEval(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("router eval", flag.ContinueOnError)
	var c offline.Config
	data := dataFlags(fs, &c)
	modelPath := fs.String("model", "", "model file (default: the built-in model)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	plotPath := fs.String("plot", "", "write a PNG of quality vs strong-call share")
	rest, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	if err := finishDataFlags(&c, data, rest); err != nil {
		return err
	}
	m, err := loadModelFlag(*modelPath)
	if err != nil {
		return err
	}
	d, err := offline.Prepare(c)
	if err != nil {
		return err
	}
	rep, err := offline.Evaluate(d.Test, offline.Score(m, d.Test))
	if err != nil {
		return err
	}
	if *plotPath != "" {
		f, err := os.Create(*plotPath)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		err = offline.Plot(f, rep, fmt.Sprintf("router on %d held-out rows", rep.Rows))
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("plot: %w", cerr)
		}
		if err != nil {
			return err
		}
	}
	if *asJSON {
		out := struct {
			Strong       string   `json:"strong"`
			Weak         string   `json:"weak"`
			TestSubjects []string `json:"test_subjects"`
			*offline.Report
		}{d.Strong, d.Weak, d.TestSubjects, rep}
		return json.NewEncoder(stdout).Encode(out)
	}
	printSplit(stdout, c, d)
	printReport(stdout, rep)
	return nil
}

func cmdRouterScore(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("router score", flag.ContinueOnError)
	modelPath := fs.String("model", "", "model file (default: the built-in model)")
	dataPath := fs.String("data", "", "CSV file with a prompt column")
	if _, err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *dataPath == "" {
		return usageError{errors.New("--data is required")}
	}
	m, err := loadModelFlag(*modelPath)
	if err != nil {
		return err
	}
	f, err := os.Open(*dataPath)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	file, err := offline.ReadCSV(f, *dataPath)
	if err != nil {
		return err
	}
	s := m.NewScorer()
	enc := json.NewEncoder(stdout)
	for i, p := range file.Prompts {
		if err := enc.Encode(struct {
			Row   int     `json:"row"`
			Score float64 `json:"score"`
		}{i, s.Score(p, file.Signals[i])}); err != nil {
			return err
		}
	}
	return nil
}

func cmdRouterCalibrate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("router calibrate", flag.ContinueOnError)
	modelPath := fs.String("model", "", "model file (default: the built-in model)")
	data := &listFlag{}
	fs.Var(data, "data", "CSV file or directory of CSV files with a prompt column (repeatable)")
	share := fs.Float64("target-share", math.NaN(), "wanted share of requests sent to the strong tier, in [0,1]")
	cost := fs.Float64("target-cost", math.NaN(), "wanted mean cost per request (with --strong-cost and --weak-cost)")
	strongCost := fs.Float64("strong-cost", math.NaN(), "cost of one strong-tier call")
	weakCost := fs.Float64("weak-cost", 0, "cost of one weak-tier call")
	out := fs.String("o", "", "write the model with this threshold to this file")
	rest, err := parseFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	paths := append(append([]string{}, *data...), rest...)
	if len(paths) == 0 {
		return usageError{errors.New("--data is required")}
	}
	target, err := targetShare(*share, *cost, *strongCost, *weakCost)
	if err != nil {
		return usageError{err}
	}
	m, err := loadModelFlag(*modelPath)
	if err != nil {
		return err
	}
	files, err := offline.Load(paths...)
	if err != nil {
		return err
	}
	s := m.NewScorer()
	var scores []float64
	for _, f := range files {
		for i, p := range f.Prompts {
			scores = append(scores, s.Score(p, f.Signals[i]))
		}
	}
	t := router.ThresholdForShare(scores, target)
	got := 0
	for _, x := range scores {
		if x > t {
			got++
		}
	}
	fmt.Fprintf(stdout, "threshold %.6f: %d of %d sample requests (%.1f%%) go to the strong tier (target %.1f%%)\n",
		t, got, len(scores), 100*float64(got)/float64(len(scores)), 100*target)
	if *out != "" {
		return writeModel(*out, m.WithThreshold(t))
	}
	return nil
}

// targetShare turns --target-share or --target-cost into a strong-call share:
// mean cost = weak + share·(strong − weak).
func targetShare(share, cost, strongCost, weakCost float64) (float64, error) {
	switch {
	case !math.IsNaN(share) && !math.IsNaN(cost):
		return 0, errors.New("give --target-share or --target-cost, not both")
	case !math.IsNaN(share):
		if !(share >= 0 && share <= 1) {
			return 0, fmt.Errorf("--target-share %v outside [0,1]", share)
		}
		return share, nil
	case !math.IsNaN(cost):
		if math.IsNaN(strongCost) || !(strongCost > weakCost) {
			return 0, fmt.Errorf("--target-cost needs --strong-cost greater than --weak-cost (%v)", weakCost)
		}
		s := (cost - weakCost) / (strongCost - weakCost)
		if !(s >= 0 && s <= 1) {
			return 0, fmt.Errorf("--target-cost %v outside [weak cost %v, strong cost %v]", cost, weakCost, strongCost)
		}
		return s, nil
	}
	return 0, errors.New("--target-share or --target-cost is required")
}
