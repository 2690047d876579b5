package privacy

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"strict": ModeStrict, " Mask ": ModeMask, "ALLOW": ModeAllow} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "local", "masked"} {
		_, err := ParseMode(in)
		if err == nil {
			t.Fatalf("ParseMode(%q) succeeded", in)
		}
		for _, s := range []string{`"` + in + `"`, "strict", "mask", "allow"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("ParseMode(%q) error %q does not mention %s", in, err, s)
			}
		}
	}
}

func TestMaskRestore(t *testing.T) {
	d := NewDetector()
	m := d.NewMasker()
	msgs := []string{
		"Hi, I'm Ann (ann@fastmail.com, +1 415 555 0132). My card is 4111 1111 1111 1111.",
		"我的手机号是13800138000，邮箱还是ann@fastmail.com，住北京市朝阳区建国路88号。",
		"Also bob@fastmail.com and server 10.0.0.5; password=hunter2",
	}
	want := []string{
		"Hi, I'm Ann ([EMAIL_1], [PHONE_1]). My card is [CARD_1].",
		"我的手机号是[PHONE_2]，邮箱还是[EMAIL_1]，住[ADDRESS_1]。",
		"Also [EMAIL_2] and server [IP_1]; password=[SECRET_1]",
	}
	for i, msg := range msgs {
		got := m.Mask(msg)
		if got != want[i] {
			t.Errorf("Mask(%q)\n got %q\nwant %q", msg, got, want[i])
		}
		if back := m.Restore(got); back != msg {
			t.Errorf("Restore(Mask(%q)) = %q", msg, back)
		}
	}
	answer := "Sure [EMAIL_1]: I will call [PHONE_2] and write to [EMAIL_2] and [EMAIL_9]."
	if got, want := m.Restore(answer), "Sure ann@fastmail.com: I will call 13800138000 and write to bob@fastmail.com and [EMAIL_9]."; got != want {
		t.Errorf("Restore(%q) = %q, want %q", answer, got, want)
	}
	found := m.Found()
	wantFound := map[Kind]int{KindEmail: 2, KindPhone: 2, KindBankCard: 1, KindAddress: 1, KindIP: 1, KindSecret: 1}
	if len(found) != len(wantFound) {
		t.Errorf("Found() = %v, want %v", found, wantFound)
	}
	for k, n := range wantFound {
		if found[k] != n {
			t.Errorf("Found()[%s] = %d, want %d", k, found[k], n)
		}
	}
	if got, want := Describe(found), "secret×1, bank_card×1, email×2, phone×2, address×1, ip×1"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	spans := d.Find(msgs[0] + " " + msgs[1])
	if got, want := Describe(Count(spans)), "bank_card×1, email×1, phone×2, address×1"; got != want {
		t.Errorf("Describe(Count) = %q, want %q", got, want)
	}
	if clean := "nothing personal here, 16 - 3 = 13"; m.Mask(clean) != clean || m.Restore(clean) != clean {
		t.Errorf("clean text changed")
	}
}

// TestMaskCollisions: text that already looks like a placeholder is never
// restored to something else, and never given to a value.
func TestMaskCollisions(t *testing.T) {
	m := NewDetector().NewMasker()
	// A literal [EMAIL_1] in the input: the email gets [EMAIL_2].
	in1 := "Template: Dear [EMAIL_1], [PHONE_1]. Real: amy@fastmail.com"
	out1 := m.Mask(in1)
	if want := "Template: Dear [EMAIL_1], [PHONE_1]. Real: [EMAIL_2]"; out1 != want {
		t.Fatalf("Mask(%q) = %q, want %q", in1, out1, want)
	}
	// A later message quoting [EMAIL_2], which now means amy: the quote itself
	// is masked, so the cloud never sees an ambiguous [EMAIL_2].
	in2 := "The bot wrote [EMAIL_2] literally; also [EMAIL_1] and [IP_01] and [EMAIL_2"
	out2 := m.Mask(in2)
	if want := "The bot wrote [EMAIL_3] literally; also [EMAIL_1] and [IP_01] and [EMAIL_2"; out2 != want {
		t.Fatalf("Mask(%q) = %q, want %q", in2, out2, want)
	}
	for _, c := range []struct{ in, want string }{{out1, in1}, {out2, in2}} {
		if got := m.Restore(c.in); got != c.want {
			t.Errorf("Restore(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := m.Found(); len(got) != 1 || got[KindEmail] != 1 {
		t.Errorf("Found() = %v, want one email (escaped literals are not personal data)", got)
	}
	// New values skip every reserved number.
	out3 := m.Mask("more: zed@fastmail.com, +44 20 7946 0958")
	if want := "more: [EMAIL_4], [PHONE_2]"; out3 != want {
		t.Errorf("Mask = %q, want %q", out3, want)
	}
}

// masked returns texts masked by one Masker, as a cloud would echo them.
func maskedSamples(t testing.TB) (*Masker, []string) {
	m := NewDetector().NewMasker()
	var out []string
	for _, c := range positives {
		out = append(out, m.Mask(c.in))
	}
	out = append(out,
		m.Mask("[EMAIL_1] literal, then ann@fastmail.com and 中文 [ADDRESS_ then [IP_1]")+" [SECRET_12345] [",
		"trailing partial [EMAIL_",
		"emoji 😀 and [PHONE_1]😀[CARD_1]",
	)
	return m, out
}

// TestStreamRestore: for every text and every way of cutting it into two or
// three chunks, or into single bytes, the concatenated output of Write and
// Flush equals Restore of the whole, and every emitted piece of valid UTF-8
// input is valid UTF-8.
func TestStreamRestore(t *testing.T) {
	m, texts := maskedSamples(t)
	r := rand.New(rand.NewPCG(1, 2))
	for _, text := range texts {
		want := m.Restore(text)
		stream := func(chunks []string) {
			s := m.NewStream()
			var b strings.Builder
			for _, c := range chunks {
				out := s.Write(c)
				if utf8.ValidString(text) && !utf8.ValidString(out) {
					t.Fatalf("Write emitted invalid UTF-8 %q (chunks %q)", out, chunks)
				}
				b.WriteString(out)
			}
			b.WriteString(s.Flush())
			if b.String() != want {
				t.Fatalf("streamed %q in chunks %q:\n got %q\nwant %q", text, chunks, b.String(), want)
			}
		}
		for i := 0; i <= len(text); i++ {
			stream([]string{text[:i], text[i:]})
			j := i + r.IntN(len(text)-i+1)
			stream([]string{text[:i], text[i:j], text[j:]})
		}
		bytes := make([]string, len(text))
		for i := 0; i < len(text); i++ {
			bytes[i] = text[i : i+1]
		}
		stream(bytes)
	}
}

func TestStreamHoldsBackLittle(t *testing.T) {
	m := NewDetector().NewMasker()
	m.Mask("a@fastmail.com")
	s := m.NewStream()
	for _, c := range []struct{ in, out string }{
		{"Hello [EM", "Hello "},
		{"AIL_1", ""},
		{"] and [x", "a@fastmail.com and [x"},
		{"中"[:2], ""},
		{"中"[2:] + "[EMAIL_1234567890", "中[EMAIL_1234567890"},
	} {
		if got := s.Write(c.in); got != c.out {
			t.Errorf("Write(%q) = %q, want %q", c.in, got, c.out)
		}
	}
	if got := s.Flush(); got != "" {
		t.Errorf("Flush() = %q", got)
	}
}
