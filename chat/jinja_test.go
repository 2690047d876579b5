package chat

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandem-llm/tandem/backend"
	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/internal/testdata"
)

// TestJinjaGolden compares Render with Jinja2's rendering of the published
// templates (testdata/jinja/golden.jsonl, made by testdata/jinja/gen.py) for
// fixed and random conversations, including Jinja's exceptions. The
// records of templates read from ../shared are skipped when it is absent.
func TestJinjaGolden(t *testing.T) {
	fh, err := os.Open("testdata/jinja/golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	tmpls := map[string]Template{}
	counts := map[string]int{}
	for sc.Scan() {
		var rec struct {
			Template            string
			Messages            []backend.Message
			AddGenerationPrompt bool `json:"add_generation_prompt"`
			Output              *string
			Error               string
			BOS                 bool
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		tm, ok := tmpls[rec.Template]
		if !ok {
			tm = goldenTemplate(t, rec.Template)
			tmpls[rec.Template] = tm
		}
		if tm.kind == 0 || !comparable(rec.Template, rec.Messages) {
			continue
		}
		counts[rec.Template]++
		got, err := tm.Render(rec.Messages, rec.AddGenerationPrompt)
		switch {
		case rec.Output == nil && err == nil:
			t.Errorf("%s %q gen=%v: rendered %q, Jinja raised %q", rec.Template, rec.Messages, rec.AddGenerationPrompt, got, rec.Error)
		case rec.Output != nil && err != nil:
			t.Errorf("%s %q gen=%v: %v, Jinja rendered %q", rec.Template, rec.Messages, rec.AddGenerationPrompt, err, *rec.Output)
		case rec.Output != nil && got != *rec.Output:
			t.Errorf("%s %q gen=%v:\n got %q\nwant %q", rec.Template, rec.Messages, rec.AddGenerationPrompt, got, *rec.Output)
		case rec.Output != nil && *rec.Output != "" && rec.BOS != tm.BOS():
			t.Errorf("%s: BOS() = %v, Jinja output starts with BOS: %v", rec.Template, tm.BOS(), rec.BOS)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(counts) < 20 {
		t.Errorf("only %d templates compared: %v", len(counts), counts)
	}
}

// goldenTemplate detects a golden record's template, from testdata or from
// a vocab file in ../shared; the zero Template when ../shared is absent.
func goldenTemplate(t *testing.T, name string) Template {
	t.Helper()
	var src string
	if strings.HasSuffix(name, ".gguf") {
		ok := t.Run("shared/"+name, func(t *testing.T) {
			f, err := gguf.Open(testdata.SharedFile(t, filepath.Join("tokenizer", name)))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			src, _ = f.String("tokenizer.chat_template")
		})
		if !ok || src == "" {
			return Template{}
		}
	} else {
		b, err := os.ReadFile(filepath.Join("testdata/templates", name))
		if err != nil {
			t.Fatal(err)
		}
		src = string(b)
	}
	tm, err := Detect(src)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	tm.now = fixedNow
	return tm
}

// comparable leaves out the cases where Render deviates on purpose: a
// leading system message for templates that raise on it or drop it, which
// Render folds into the first user turn instead.
func comparable(template string, m []backend.Message) bool {
	if len(m) == 0 || m[0].Role != "system" {
		return true
	}
	switch template {
	case "ggml-vocab-phi-3.gguf", "gemma-2-it.jinja", "mixtral-8x7b-instruct-v0.1-original.jinja":
		return false
	}
	return true
}
