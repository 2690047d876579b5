package privacy

import (
	"strings"
	"testing"
)

// FuzzFind checks that Find never panics and keeps its contract on any input
// (in bounds, sorted, non-overlapping, on rune boundaries), and that
// Contains agrees with it.
func FuzzFind(f *testing.F) {
	d := NewDetector()
	f.Fuzz(func(t *testing.T, text string) {
		spans := d.Find(text)
		checkSpans(t, text, spans)
		if got := d.Contains(text); got != (len(spans) > 0) {
			t.Fatalf("Contains(%q) = %v but Find returned %d spans", text, got, len(spans))
		}
	})
}

// FuzzMaskRestore checks that Restore undoes Mask for any two messages
// masked by one Masker, and that restoring their concatenation as a stream,
// cut into chunks of the lengths in cuts, gives what Restore gives.
func FuzzMaskRestore(f *testing.F) {
	d := NewDetector()
	f.Fuzz(func(t *testing.T, a, b string, cuts []byte) {
		m := d.NewMasker()
		ma, mb := m.Mask(a), m.Mask(b)
		if got := m.Restore(ma); got != a {
			t.Fatalf("Restore(Mask(%q)) = %q (masked %q)", a, got, ma)
		}
		if got := m.Restore(mb); got != b {
			t.Fatalf("Restore(Mask(%q)) = %q (masked %q, after %q)", b, got, mb, a)
		}
		if again := m.Mask(a); again != ma {
			t.Fatalf("Mask(%q) changed from %q to %q", a, ma, again)
		}
		whole := ma + mb
		s := m.NewStream()
		var out strings.Builder
		rest := whole
		for _, c := range cuts {
			n := min(int(c)%24, len(rest))
			out.WriteString(s.Write(rest[:n]))
			rest = rest[n:]
		}
		out.WriteString(s.Write(rest))
		out.WriteString(s.Flush())
		if want := m.Restore(whole); out.String() != want {
			t.Fatalf("stream of %q in chunks %v = %q, Restore = %q", whole, cuts, out.String(), want)
		}
	})
}
