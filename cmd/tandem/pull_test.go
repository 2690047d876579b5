package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandem-llm/tandem/hub/hubtest"
)

func TestPullListRm(t *testing.T) {
	const repo = "tandem-test/Tiny-GGUF"
	s := hubtest.NewServer()
	defer s.Close()
	data := hubtest.GGUF("tiny-q4_k_m.gguf", 64<<10)
	s.AddFile(repo, "tiny-q4_k_m.gguf", data)
	s.AddFile(repo, "tiny-q8_0.gguf", hubtest.GGUF("tiny-q8_0.gguf", 64<<10))
	s.Configure(func(b *hubtest.Behavior) { b.Token, b.Redirect = "hf_x", true })
	home := t.TempDir()
	t.Setenv("TANDEM_HOME", home)
	t.Setenv("TANDEM_HF_ENDPOINT", s.URL)
	t.Setenv("HF_TOKEN", "hf_x")

	call := func(f func(stdout, stderr *bytes.Buffer) error) (string, string, int) {
		var out, errb bytes.Buffer
		err := f(&out, &errb)
		code := 0
		if err != nil {
			code = exitCode(err)
			errb.WriteString(err.Error())
		}
		return out.String(), errb.String(), code
	}
	pull := func(args ...string) (string, string, int) {
		return call(func(o, e *bytes.Buffer) error { return cmdPull(context.Background(), args, o, e) })
	}
	list := func() (string, string, int) {
		return call(func(o, e *bytes.Buffer) error { return cmdList(nil, o, e) })
	}
	rm := func(args ...string) (string, string, int) {
		return call(func(o, e *bytes.Buffer) error { return cmdRm(args, o, e) })
	}

	if out, errs, code := list(); code != 0 || out != "" || !strings.Contains(errs, "no models pulled yet") {
		t.Errorf("empty list: %d %q %q", code, out, errs)
	}
	out, errs, code := pull(repo+":Q4_K_M", "--quiet")
	want := filepath.Join(home, "models", "tandem-test--Tiny-GGUF", "tiny-q4_k_m.gguf")
	if code != 0 || out != want+"\n" || errs != "" {
		t.Fatalf("pull --quiet: %d %q %q", code, out, errs)
	}
	if got, _ := os.ReadFile(want); !bytes.Equal(got, data) {
		t.Error("pulled content differs")
	}
	out, errs, code = pull("--force", repo+"/tiny-q8_0.gguf")
	if code != 0 || !strings.HasSuffix(out, "tiny-q8_0.gguf\n") || !strings.Contains(errs, "tiny-q8_0.gguf: done") ||
		!strings.Contains(errs, `msg="pulled model"`) {
		t.Errorf("pull: %d %q %q", code, out, errs)
	}

	out, _, code = list()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "SIZE") ||
		!strings.Contains(lines[0], "PULLED") || !strings.HasPrefix(lines[1], repo+"/tiny-q4_k_m.gguf") || !strings.Contains(lines[1], "KiB") {
		t.Errorf("list: %d\n%s", code, out)
	}

	if out, errs, code := rm(repo+":Q4_K_M", "tiny-q8_0.gguf"); code != 0 || out != "removed "+repo+":Q4_K_M\nremoved tiny-q8_0.gguf\n" {
		t.Errorf("rm: %d %q %q", code, out, errs)
	}
	if _, errs, code := rm(repo + ":Q4_K_M"); code != 1 || !strings.Contains(errs, "not pulled") {
		t.Errorf("rm again: %d %q", code, errs)
	}

	// Errors: usage (2) for bad references and arguments, 1 for the hub's.
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "exactly one"},
		{[]string{"a", "b"}, 2, "exactly one"},
		{[]string{"no-owner"}, 2, "invalid model reference"},
		{[]string{"--bogus", repo}, 2, "not defined"},
		{[]string{repo + ":Q2_K"}, 1, `available: Q4_K_M, Q8_0`},
		{[]string{"tandem-test/Missing:Q4_K_M"}, 1, "repository tandem-test/Missing not found"},
	} {
		if _, errs, code := pull(tc.args...); code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("pull %q: %d %q; want %d and %q", tc.args, code, errs, tc.code, tc.msg)
		}
	}
	t.Setenv("HF_TOKEN", "")
	if _, errs, code := pull(repo + ":Q8_0"); code != 1 || !strings.Contains(errs, "HF_TOKEN") {
		t.Errorf("pull without token: %d %q", code, errs)
	}
	if _, _, code := rm(); code != 2 {
		t.Errorf("rm without args: %d", code)
	}
	var out2, err2 bytes.Buffer
	if err := cmdPull(context.Background(), []string{"-h"}, &out2, &err2); !errors.Is(err, flag.ErrHelp) ||
		!strings.Contains(err2.String(), "Usage: tandem pull REF") {
		t.Errorf("pull -h: %v %q", err, err2.String())
	}
}
