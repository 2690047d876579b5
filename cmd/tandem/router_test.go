package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandem-llm/tandem/router"
)

// routerData writes a small data directory: four subjects where questions
// about integrals are the ones the weak model fails.
func routerData(t *testing.T) string {
	dir := t.TempDir()
	for s, subject := range []string{"algebra", "biology", "history", "music"} {
		var b strings.Builder
		b.WriteString("prompt,org/weak-1b,org/strong-100b,org/weak-1b_response\n")
		for i := range 30 {
			if i%2 == 0 {
				fmt.Fprintf(&b, "\"Evaluate the integral of x^%d in %s.\nAnswer:\",False,True,x\n", i%7+s, subject)
			} else {
				fmt.Fprintf(&b, "Tell me a fact about %s number %d.,True,True,y\n", subject, i)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "mmlu_"+subject+".csv"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRouterCommands(t *testing.T) {
	data := routerData(t)
	model := filepath.Join(t.TempDir(), "m.json")
	out, errOut, code := runCLI(t, "router", "train", "--data", data, "--strong", "strong", "--weak", "weak-1b", "--holdout", "0.5", "-o", model)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"train: 60 rows, test: 60 rows", "held-out subjects (2):", "held-out metrics:", "router", "oracle"} {
		if !strings.Contains(out, want) {
			t.Errorf("train output lacks %q:\n%s", want, out)
		}
	}

	plot := filepath.Join(t.TempDir(), "q.png")
	out, errOut, code = runCLI(t, "router", "eval", "--data", data, "--strong", "strong", "--weak", "weak", "--holdout", "0.5", "--model", model, "--json", "--plot", plot)
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, errOut)
	}
	var rep struct {
		Rows     int `json:"rows"`
		Policies []struct {
			Name string   `json:"name"`
			APGR *float64 `json:"apgr"`
		} `json:"policies"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Rows != 60 || len(rep.Policies) != 5 {
		t.Fatalf("eval JSON %v: %s", err, out)
	}
	// The task is separable: the router matches the oracle.
	if p, o := rep.Policies[0], rep.Policies[2]; p.Name != "router" || o.Name != "oracle" || p.APGR == nil || o.APGR == nil || *p.APGR < *o.APGR-1e-9 {
		t.Errorf("router on a separable task: %s", out)
	}
	if st, err := os.Stat(plot); err != nil || st.Size() == 0 {
		t.Errorf("plot: %v", err)
	}

	out, errOut, code = runCLI(t, "router", "score", "--model", model, "--data", filepath.Join(data, "mmlu_music.csv"))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 30 {
		t.Fatalf("score: exit %d, %d lines: %s", code, len(lines), errOut)
	}
	var first struct {
		Row   int     `json:"row"`
		Score float64 `json:"score"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.Row != 0 || !(first.Score > 0.5) {
		t.Errorf("first score line %q: %v", lines[0], err)
	}

	calibrated := filepath.Join(t.TempDir(), "c.json")
	out, errOut, code = runCLI(t, "router", "calibrate", "--model", model, "--data", data, "--target-cost", "3", "--strong-cost", "10", "--weak-cost", "0", "-o", calibrated)
	if code != 0 || !strings.Contains(out, "target 30.0%") {
		t.Fatalf("calibrate: exit %d: %s%s", code, out, errOut)
	}
	m, err := router.LoadModelFile(calibrated)
	if err != nil {
		t.Fatal(err)
	}
	if m.Threshold() == 0.5 {
		t.Error("calibrate did not store a threshold")
	}
}

func TestRouterErrors(t *testing.T) {
	data := routerData(t)
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("prompt,weak,strong\nq,True,maybe\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"router"}, "no subcommand"},
		{[]string{"router", "fly"}, `unknown subcommand "fly"`},
		{[]string{"router", "train", "--strong", "a", "--weak", "b"}, "--data is required"},
		{[]string{"router", "train", "--data", data, "--weak", "weak"}, "--strong and --weak are required"},
		{[]string{"router", "train", "--data", data, "--strong", "gpt", "--weak", "weak"}, `unknown column "gpt"`},
		{[]string{"router", "train", "--data", data, "--strong", "org/", "--weak", "weak"}, "ambiguous"},
		{[]string{"router", "eval", "--data", bad, "--strong", "strong", "--weak", "weak", "--split", "none"}, `bad.csv:2 (data row 0): column "strong": bad bool value "maybe"`},
		{[]string{"router", "eval", "--data", t.TempDir(), "--strong", "s", "--weak", "w"}, "no CSV files"},
		{[]string{"router", "score", "--model", bad, "--data", bad}, "decode model"},
		{[]string{"router", "calibrate", "--data", data}, "--target-share or --target-cost is required"},
		{[]string{"router", "calibrate", "--data", data, "--target-share", "1.5"}, "outside [0,1]"},
	} {
		_, errOut, code := runCLI(t, tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
}
