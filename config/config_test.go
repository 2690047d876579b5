package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadNormalizeValidate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tandem.yaml")
	os.WriteFile(path, []byte(`
role: cloud
listen: 0.0.0.0:8000
max_body: 2MiB
request_timeout: 90s
auth:
  key_file: keys.txt
  keys: [inline-key]
limits: {requests_per_minute: 10, tokens_per_day: 100000}
tiers:
  - path: models/Qwen2.5-0.5B.Q4_K_M.gguf
    context: 4096
    max_concurrency: 2
    chat_template: chatml
  - url: http://10.1.1.1:8000
    urls: [http://10.1.1.2:8000/v1]
    model: big
    cost_input: 0.1
  - urls: [https://api.example.com/v1]
`), 0o644)
	os.WriteFile(filepath.Join(dir, "keys.txt"), []byte("# comment\nfile-key-1\n\n  file-key-2  \n"), 0o600)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c.Normalize()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Role != "cloud" || c.MaxBody != 2<<20 || c.RequestTimeout != 90*time.Second || c.DrainTimeout != DefaultDrainTimeout ||
		!c.AutoPull || c.LogLevel != "info" {
		t.Errorf("%+v", c)
	}
	t0, t1, t2 := c.Tiers[0], c.Tiers[1], c.Tiers[2]
	if t0.Name != "Qwen2.5-0.5B.Q4_K_M" || t0.Model != t0.Name || t0.Path != filepath.Join(dir, "models/Qwen2.5-0.5B.Q4_K_M.gguf") || !t0.Local() {
		t.Errorf("tier 0 %+v", t0)
	}
	if t1.Name != "cloud" || len(t1.URLs) != 2 || t1.URLs[0] != "http://10.1.1.1:8000" || t1.URL != "" || t1.Local() {
		t.Errorf("tier 1 %+v", t1)
	}
	if t2.Name != "cloud-2" || t2.Model != "" {
		t.Errorf("tier 2 %+v", t2)
	}
	keys, err := c.APIKeys(func(k string) string {
		if k == "TANDEM_API_KEYS" {
			return "env-a, env-b,"
		}
		return ""
	})
	if err != nil || strings.Join(keys, " ") != "inline-key env-a env-b file-key-1 file-key-2" {
		t.Errorf("keys %q %v", keys, err)
	}
	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "inline-key") || !strings.Contains(string(out), "max_body: 2MiB") ||
		!strings.Contains(string(out), "request_timeout: 1m30s") {
		t.Errorf("YAML:\n%s", out)
	}
	// What YAML prints loads back to the same configuration (keys aside).
	var back Config
	if err := Parse(out, &back); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if back.MaxBody != c.MaxBody || back.RequestTimeout != c.RequestTimeout || len(back.Tiers) != 3 || back.Tiers[1].URLs[1] != c.Tiers[1].URLs[1] {
		t.Errorf("round trip: %+v", back)
	}
}

func TestValidateErrors(t *testing.T) {
	c := Default()
	c.Role, c.LogLevel = "edge", "loud"
	c.Tiers = []Tier{
		{Name: "a", Path: "x.gguf", URLs: []string{"http://h"}},
		{Name: "b"},
		{Name: "c", URLs: []string{"ftp://h"}, ChatTemplate: "chatml"},
		{Name: "d", Path: "m/x.gguf", Model: "x"},
		{Name: "e", Path: "n/x.gguf", Model: "x", CostInput: -1},
	}
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`role "edge"`, `log_level "loud"`, "not both", "set path", `url "ftp://h"`,
		"chat_template is for local", `served as "x"`, "must not be negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestParseStrictAndEmpty(t *testing.T) {
	c := Default()
	if err := Parse([]byte("tiers:\n  - path: a.gguf\n    contxt: 4\n"), &c); err == nil || !strings.Contains(err.Error(), "contxt") {
		t.Errorf("unknown key: %v", err)
	}
	c = Default()
	if err := Parse(nil, &c); err != nil || c.Listen != DefaultListen {
		t.Errorf("empty file: %v %+v", err, c)
	}
	if err := Parse([]byte("max_body: lots\n"), &c); err == nil {
		t.Error("bad size accepted")
	}
}

func TestSize(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "512K": 512 << 10, "1MiB": 1 << 20, "1.5G": 3 << 29} {
		var s Size
		if err := s.Set(in); err != nil || int64(s) != want {
			t.Errorf("%s: %d %v", in, s, err)
		}
	}
	if Size(3<<20).String() != "3MiB" || Size(1000).String() != "1000" || Size(0).String() != "0" {
		t.Error(Size(3<<20).String(), Size(1000).String())
	}
}

func TestModelName(t *testing.T) {
	for in, want := range map[string]string{"/m/stories260K.gguf": "stories260K", "a/B.GGUF": "B", "x.bin": "x.bin"} {
		if got := ModelName(in); got != want {
			t.Errorf("%s: %s", in, got)
		}
	}
}
