package offline

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tandem-llm/tandem/router"
)

// Config selects the data, the two models and the split; the train and eval
// commands share it, so they see the same held-out subjects.
type Config struct {
	Data    []string // files or directories of CSV files
	Strong  string   // column name or unique substring
	Weak    string
	Split   string // "subject" (hold out whole subjects) or "none" (train and test on everything)
	Holdout float64
	Seed    int64
	// TargetShare, when > 0, sets the model's threshold so that this share
	// of the training rows goes to the strong tier (the router's default
	// before any online recalibration).
	TargetShare float64
}

// Dataset is the loaded data, split.
type Dataset struct {
	Strong, Weak string // resolved column names
	Train, Test  []Row
	TestSubjects []string // nil with Split "none"
}

// Prepare loads and splits the data of c.
func Prepare(c Config) (*Dataset, error) {
	files, err := Load(c.Data...)
	if err != nil {
		return nil, err
	}
	d := &Dataset{}
	if d.Strong, err = ResolveColumn(files, c.Strong); err != nil {
		return nil, fmt.Errorf("--strong: %w", err)
	}
	if d.Weak, err = ResolveColumn(files, c.Weak); err != nil {
		return nil, fmt.Errorf("--weak: %w", err)
	}
	if d.Strong == d.Weak {
		return nil, fmt.Errorf("--strong and --weak are both column %q", d.Strong)
	}
	rows, err := Rows(files, d.Strong, d.Weak)
	if err != nil {
		return nil, err
	}
	switch c.Split {
	case "subject":
		d.Train, d.Test, d.TestSubjects, err = SplitBySubject(rows, c.Holdout, c.Seed)
		if err != nil {
			return nil, err
		}
	case "none":
		d.Train, d.Test = rows, rows
	default:
		return nil, fmt.Errorf("--split %q: want subject or none", c.Split)
	}
	return d, nil
}

// Provenance is the train command line for c, with data paths reduced to
// their base names so the same data gives the same model file anywhere.
func (c Config) Provenance(d *Dataset) string {
	var b strings.Builder
	b.WriteString("tandem router train")
	for _, p := range c.Data {
		b.WriteString(" --data " + filepath.Base(filepath.Clean(p)))
	}
	fmt.Fprintf(&b, " --strong %s --weak %s --split %s", d.Strong, d.Weak, c.Split)
	if c.Split == "subject" {
		b.WriteString(" --holdout " + strconv.FormatFloat(c.Holdout, 'g', -1, 64) + " --seed " + strconv.FormatInt(c.Seed, 10))
	}
	if c.TargetShare > 0 {
		b.WriteString(" --target-share " + strconv.FormatFloat(c.TargetShare, 'g', -1, 64))
	}
	return b.String()
}

// Train fits a model on d's training rows.
func Train(ctx context.Context, c Config, d *Dataset, opt router.TrainOptions) (*router.Model, router.TrainResult, error) {
	opt.Provenance = c.Provenance(d)
	m, res, err := router.Train(ctx, Examples(d.Train), opt)
	if err != nil || c.TargetShare <= 0 {
		return m, res, err
	}
	return m.WithThreshold(router.ThresholdForShare(Score(m, d.Train), c.TargetShare)), res, nil
}

// Score scores every row with m.
func Score(m *router.Model, rows []Row) []float64 {
	s := m.NewScorer()
	out := make([]float64, len(rows))
	for i, r := range rows {
		out[i] = s.Score(r.Prompt, r.Signals)
	}
	return out
}
