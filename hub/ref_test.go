package hub

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Ref
	}{
		{"Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M", Ref{Repo: "Qwen/Qwen2.5-0.5B-Instruct-GGUF", Quant: "Q4_K_M"}},
		{"Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf",
			Ref{Repo: "Qwen/Qwen2.5-0.5B-Instruct-GGUF", File: "qwen2.5-0.5b-instruct-q4_k_m.gguf"}},
		{"Qwen/Qwen2.5-0.5B-Instruct-GGUF", Ref{Repo: "Qwen/Qwen2.5-0.5B-Instruct-GGUF"}},
		{"  hf.co/a/b:q8_0@v1.0 ", Ref{Repo: "a/b", Quant: "q8_0", Revision: "v1.0"}},
		{"https://huggingface.co/a/b", Ref{Repo: "a/b"}},
		{"a/b@refs/pr/12", Ref{Repo: "a/b", Revision: "refs/pr/12"}},
		{"unsloth/M-GGUF/Q4_K_M/M-Q4_K_M-00001-of-00002.gguf@0123abcd",
			Ref{Repo: "unsloth/M-GGUF", File: "Q4_K_M/M-Q4_K_M-00001-of-00002.gguf", Revision: "0123abcd"}},
		{"hf.co/hf.co/x", Ref{Repo: "hf.co/x"}},
	} {
		got, err := ParseRef(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if back, err := ParseRef(got.String()); err != nil || back != got {
			t.Errorf("ParseRef(%q.String() = %q) = %+v, %v", tc.in, got.String(), back, err)
		}
	}
	for _, tc := range []struct{ in, why string }{
		{"", "empty"},
		{"qwen", "no OWNER/NAME"},
		{"a/", "empty"},
		{"/b", "empty"},
		{"a--x/b", `"--"`},
		{"a/b..c", `".."`},
		{"a/-b", "starts or ends"},
		{"a b/c", "not allowed"},
		{"a/b:", "quant"},
		{"a/b:Q4 K", "not allowed"},
		{"a/b@", "revision"},
		{"a/b@v1:Q4_K_M", "put the quant first"},
		{"a/b@../x", "revision"},
		{"a/b/model.bin", "not a .gguf file"},
		{"a/b/../b/x.gguf", "'..'"},
		{"a/b//x.gguf", "segment"},
		{"a/b/x.gguf:Q4_K_M", "either a file or a quant"},
		{"a/b/sp ace.gguf", "not allowed"},
		{"a/b/x\\y.gguf", "not allowed"},
		{"a/b/" + strings.Repeat("x", 600) + ".gguf", "longer"},
	} {
		_, err := ParseRef(tc.in)
		var re *RefError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParseRef(%q) = %v; want a RefError mentioning %q", tc.in, err, tc.why)
		}
	}
}

func TestSelectFile(t *testing.T) {
	files := []string{
		"mmproj-model-f16.gguf",
		"model-f16.gguf",
		"model-iq4_xs.gguf",
		"model-q4_k_m.gguf",
		"model-q4_k_s.gguf",
		"model-q8_0.gguf",
	}
	for _, tc := range []struct {
		quant, want, err string
	}{
		{"Q4_K_M", "model-q4_k_m.gguf", ""},
		{"q8_0", "model-q8_0.gguf", ""},
		{"", "model-q4_k_m.gguf", ""},       // default quant
		{"F16", "model-f16.gguf", ""},       // mmproj is set aside
		{"IQ4_XS", "model-iq4_xs.gguf", ""}, // whole label
		{"Q4_K", "", "matches 2 files"},     // substring fallback: q4_k_m, q4_k_s
		{"Q5_K_M", "", "available: F16, IQ4_XS, Q4_K_M, Q4_K_S, Q8_0"},
	} {
		got, err := selectFile("o/r", files, tc.quant, true)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("quant %q: %q, %v; want error with %q", tc.quant, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("quant %q: %q, %v; want %q", tc.quant, got, err, tc.want)
		}
	}
	if got, err := selectFile("o/r", []string{"only.gguf"}, "", true); got != "only.gguf" || err != nil {
		t.Errorf("single file: %q, %v", got, err)
	}
	if _, err := selectFile("o/r", []string{"a-q8_0.gguf", "b-q8_0.gguf"}, "", true); err == nil ||
		!strings.Contains(err.Error(), "none is Q4_K_M") {
		t.Errorf("no default: %v", err)
	}
	if _, err := selectFile("o/r", []string{"Q4_K_M/m-Q4_K_M-00001-of-00002.gguf", "Q4_K_M/m-Q4_K_M-00002-of-00002.gguf"}, "Q4_K_M", true); err == nil ||
		!strings.Contains(err.Error(), "split into 2 files") {
		t.Errorf("split model: %v", err)
	}
	if _, err := selectFile("o/r", nil, "Q4_K_M", true); err == nil || !strings.Contains(err.Error(), "no .gguf files") {
		t.Errorf("empty repo: %v", err)
	}
	// Exact matching only (local resolution): Q4_K is not a label of q4_k_m.
	if _, err := selectFile("o/r", files, "Q4_K", false); err == nil {
		t.Errorf("Q4_K should not match exactly")
	}
}

func TestQuantOf(t *testing.T) {
	for in, want := range map[string]string{
		"qwen2.5-0.5b-instruct-q4_k_m.gguf":      "Q4_K_M",
		"Meta-Llama-3-8B-Instruct.Q8_0.gguf":     "Q8_0",
		"x/Model-UD-IQ2_XXS-00001-of-00003.gguf": "IQ2_XXS",
		"model-bf16.gguf":                        "BF16",
		"model.gguf":                             "",
	} {
		if got := quantOf(in); got != want {
			t.Errorf("quantOf(%q) = %q, want %q", in, got, want)
		}
	}
}
