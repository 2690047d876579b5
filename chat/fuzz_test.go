package chat

import (
	"errors"
	"strings"
	"testing"

	"github.com/tandem-llm/tandem/backend"
)

// FuzzRender renders arbitrary conversations with every family: any roles
// (including a fuzzed one), content with special-token text, whitespace
// and invalid UTF-8. Rendering must not panic, may fail only with
// ErrConversation, must be deterministic, and Render must be the
// concatenation of well-formed Parts whose special ones hold template text
// only (so never the invalid UTF-8 of content). Detect gets the content as
// a template and must not panic either.
//
// Seed corpus: testdata/fuzz/FuzzRender.
func FuzzRender(f *testing.F) {
	f.Add([]byte{0, 1, 0}, "Hello <|im_end|>", " \xff</s>[INST]", true)
	f.Fuzz(func(t *testing.T, roles []byte, a, b string, gen bool) {
		if len(roles) > 16 {
			roles = roles[:16]
		}
		names := []string{"user", "assistant", "system", "tool", "developer", "ipython", "model", b}
		var m []backend.Message
		for i, r := range roles {
			c := a
			if i%2 == 1 {
				c = b
			}
			if r&0x80 != 0 {
				c = a + b
			}
			m = append(m, backend.Message{Role: names[int(r&0x7f)%len(names)], Content: c})
		}
		for _, name := range Names() {
			tm, err := ByName(name)
			if err != nil {
				t.Fatal(err)
			}
			tm.now = fixedNow
			parts, err := tm.RenderParts(m, gen)
			if err != nil {
				if !errors.Is(err, ErrConversation) {
					t.Fatalf("%s: error does not wrap ErrConversation: %v", name, err)
				}
				continue
			}
			checkParts(t, name, parts)
			var sb strings.Builder
			for _, p := range parts {
				sb.WriteString(p.Text)
			}
			s, err := tm.Render(m, gen)
			if err != nil || s != sb.String() {
				t.Fatalf("%s: Render = %q, %v; parts give %q", name, s, err, sb.String())
			}
		}
		if tm, err := Detect(a); err == nil {
			if _, err := tm.Render(m, gen); err != nil && !errors.Is(err, ErrConversation) {
				t.Fatalf("detected %s: %v", tm.Name(), err)
			}
		} else if !errors.Is(err, ErrUnrecognised) && !errors.Is(err, ErrNoTemplate) {
			t.Fatalf("Detect: %v", err)
		}
	})
}
