package offline

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const sampleCSV = `prompt,weak-model,strong-model,weak-model_response,feature:local_ppl,feature:first_token_entropy,grade
"What is 2+2?
A. 3
B. 4
Answer:",True,true,"B",3.5,0.2,1
Who wrote Hamlet?,False,1,Shakespeare,,,0.5
"Prove that ""x"" exists",0,0.75,no,9,2.5,oops
`

func TestReadCSV(t *testing.T) {
	f, err := ReadCSV(strings.NewReader(sampleCSV), "dir/mmlu_toy.csv")
	if err != nil {
		t.Fatal(err)
	}
	if f.Subject != "toy" || len(f.Prompts) != 3 || !strings.HasPrefix(f.Prompts[0], "What is 2+2?\nA. 3") || f.Prompts[2] != `Prove that "x" exists` {
		t.Errorf("file %+v", f)
	}
	if got := f.Columns(); !slices.Equal(got, []string{"weak-model", "strong-model"}) {
		t.Errorf("columns %v (grade has a bad value, *_response and feature:* are not model columns)", got)
	}
	if v, _ := f.Values("strong-model"); !slices.Equal(v, []float64{1, 1, 0.75}) {
		t.Errorf("strong values %v", v)
	}
	if !f.Signals[0].Has || f.Signals[0].PromptPerplexity != 3.5 || f.Signals[1].Has || f.Signals[2].FirstTokenEntropy != 2.5 {
		t.Errorf("signals %+v", f.Signals)
	}
	_, err = f.Values("grade")
	if err == nil || !strings.Contains(err.Error(), `dir/mmlu_toy.csv:7 (data row 2): column "grade": bad bool value "oops"`) {
		t.Errorf("grade: %v", err)
	}
	if _, err := ResolveColumn([]*File{f}, "grad"); err == nil || !strings.Contains(err.Error(), `bad bool value "oops"`) {
		t.Errorf("resolve grade: %v", err)
	}

	for _, tc := range []struct{ in, want string }{
		{"", "empty file"},
		{"question,a\nx,1\n", `no "prompt" column`},
		{"prompt,a,a\nx,1,1\n", `duplicate column "a"`},
		{"prompt,a\n\"x,1\n", "extraneous or missing"},
		{"prompt,a\nx,1,2\n", "wrong number of fields"},
		{"prompt,a,feature:local_ppl,feature:first_token_entropy\nx,1,abc,1\n", `bad number "abc"`},
	} {
		if _, err := ReadCSV(strings.NewReader(tc.in), "t.csv"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadCSV(%q): %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestSubjectOf(t *testing.T) {
	for in, want := range map[string]string{
		"a/mmlu_responses/mmlu_anatomy.csv": "anatomy",
		"gsm8k__gsm8k_responses.csv":        "gsm8k",
		"chat.csv":                          "chat",
		"mmlu_.csv":                         "mmlu_",
	} {
		if got := SubjectOf(in); got != want {
			t.Errorf("SubjectOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadAndResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("mmlu_a.csv", "prompt,mistralai/Mixtral-8x7B,gpt-4-1106\nq1,True,True\nq2,False,True\n")
	write("mmlu_b.csv", "prompt,mistralai/Mixtral-8x7B,gpt-4-1106\nq3,False,False\n")
	write("notes.txt", "ignored")
	files, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	strong, err := ResolveColumn(files, "gpt-4")
	if err != nil || strong != "gpt-4-1106" {
		t.Fatalf("strong %q %v", strong, err)
	}
	weak, err := ResolveColumn(files, "MIXTRAL")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Rows(files, strong, weak)
	if err != nil || len(rows) != 3 || rows[2].Subject != "b" || rows[1].Weak != 0 || rows[1].Strong != 1 {
		t.Fatalf("rows %+v %v", rows, err)
	}
	if ex := Examples(rows); ex[1].Label != 1 || ex[0].Label != 0 || ex[2].Label != 0 {
		t.Errorf("labels %+v", ex)
	}
	if _, err := ResolveColumn(files, "-"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("ambiguous: %v", err)
	}
	if _, err := ResolveColumn(files, "claude"); err == nil || !strings.Contains(err.Error(), `unknown column "claude"`) {
		t.Errorf("unknown: %v", err)
	}
	write("mmlu_c.csv", "prompt,gpt-4-1106\nq4,True\n")
	files, _ = Load(dir)
	if _, err := Rows(files, strong, weak); err == nil || !strings.Contains(err.Error(), `mmlu_c.csv: no column "mistralai/Mixtral-8x7B"`) {
		t.Errorf("missing column: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "nope")); err == nil {
		t.Error("Load of a missing path succeeded")
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no CSV files") {
		t.Errorf("empty dir: %v", err)
	}
	empty := t.TempDir()
	write2 := filepath.Join(empty, "x.csv")
	if err := os.WriteFile(write2, []byte("prompt,a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(empty); err == nil || !strings.Contains(err.Error(), "no rows") {
		t.Errorf("no rows: %v", err)
	}
}

func TestSplitBySubject(t *testing.T) {
	var rows []Row
	for i := range 20 {
		for range 3 {
			rows = append(rows, Row{Subject: string(rune('a' + i))})
		}
	}
	train, test, held, err := SplitBySubject(rows, 0.3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(held) != 6 || len(test) != 18 || len(train) != 42 {
		t.Errorf("held %v, %d test, %d train rows", held, len(test), len(train))
	}
	for _, r := range train {
		if slices.Contains(held, r.Subject) {
			t.Errorf("subject %s is in both sets", r.Subject)
		}
	}
	_, _, again, _ := SplitBySubject(rows, 0.3, 1)
	_, _, other, _ := SplitBySubject(rows, 0.3, 2)
	if !slices.Equal(held, again) || slices.Equal(held, other) {
		t.Errorf("split not reproducible or ignores the seed: %v %v %v", held, again, other)
	}
	if _, _, _, err := SplitBySubject(rows[:3], 0.3, 1); err == nil {
		t.Error("one subject split")
	}
	if _, _, _, err := SplitBySubject(rows, 1, 1); err == nil {
		t.Error("holdout 1 accepted")
	}
}

func TestPlot(t *testing.T) {
	rep, err := Evaluate(toy, toyScores)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Plot(&b, rep, "toy"); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if r := img.Bounds(); r.Dx() < 100 || r.Dy() < 100 {
		t.Errorf("image %v", r)
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add(sampleCSV)
	f.Add("prompt,a\n\"unterminated")
	f.Add("\ufeffprompt,a,b\nx,True,0.5\n")
	f.Fuzz(func(t *testing.T, data string) {
		file, err := ReadCSV(strings.NewReader(data), "fuzz.csv")
		if err != nil {
			return
		}
		if len(file.Signals) != len(file.Prompts) {
			t.Fatalf("%d signals for %d prompts", len(file.Signals), len(file.Prompts))
		}
		for _, c := range file.Columns() {
			v, err := file.Values(c)
			if err != nil || len(v) != len(file.Prompts) {
				t.Fatalf("column %q: %d values for %d prompts, %v", c, len(v), len(file.Prompts), err)
			}
			for _, x := range v {
				if !(x >= 0 && x <= 1) {
					t.Fatalf("column %q value %v", c, x)
				}
			}
		}
	})
}
