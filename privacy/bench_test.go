package privacy

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// benchText builds a prompt of about size bytes from mixed English and
// Chinese prose, arithmetic and code, with one sentence holding personal
// data every few sentences when pii is set.
func benchText(size int, pii bool) string {
	clean := []string{
		"Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins with four. ",
		"She sells the remainder at the farmers' market daily for $2 per fresh duck egg: 16 - 3 - 4 = 9, 9 * $2 = $18. ",
		"在孵化室温度为24～26°C的条件下，立体孵化器孵化鸡蛋的最适温度为37.8°C，请说明理由并给出计算过程。",
		"Which of the following best describes the structure that collects urine in the body? A. Bladder B. Kidney C. Ureter D. Urethra Answer: ",
		"def add(a, b):\n    return a + b  # version 1.2.3, see section 4.2.1\n",
		"今年是2024年，公司营收增长了3.5%，达到13,800万元；会议定于3月5号在3楼举行。",
		"The meeting is on 2024-03-15 at 14:30:00 in room 101; the ratio was 1:2:4 and π ≈ 3.14159. ",
	}
	personal := []string{
		"Contact Ann at ann.lee@fastmail.com or +1 415 555 0132, card 4111 1111 1111 1111. ",
		"我的手机号是13800138000，身份证号11010519491231002X，住北京市朝阳区建国路88号。",
		"Server 192.168.1.10, password=hunter2, ship to 221B Baker Street, London NW1 6XE. ",
	}
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		if pii && i%4 == 3 {
			b.WriteString(personal[(i/4)%len(personal)])
			continue
		}
		b.WriteString(clean[i%len(clean)])
	}
	s := b.String()
	for len(s) > size && !utf8.RuneStart(s[size]) {
		size-- // never split a rune
	}
	return s[:size]
}

var benchCases = []struct {
	name string
	text string
}{
	{"4KB-clean", benchText(4<<10, false)},
	{"4KB-pii", benchText(4<<10, true)},
	{"32KB-pii", benchText(32<<10, true)},
}

func BenchmarkFind(b *testing.B) {
	d := NewDetector()
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.text)))
			b.ReportAllocs()
			for b.Loop() {
				d.Find(c.text)
			}
		})
	}
}

func BenchmarkContains(b *testing.B) {
	d := NewDetector()
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.text)))
			b.ReportAllocs()
			for b.Loop() {
				d.Contains(c.text)
			}
		})
	}
}

// BenchmarkMaskRestore masks a 4 KB prompt with a new Masker and restores
// its echo as a stream of 16-byte chunks: the work of one masked request.
func BenchmarkMaskRestore(b *testing.B) {
	d := NewDetector()
	text := benchCases[1].text
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		m := d.NewMasker()
		masked := m.Mask(text)
		s := m.NewStream()
		for i := 0; i < len(masked); i += 16 {
			s.Write(masked[i:min(i+16, len(masked))])
		}
		s.Flush()
	}
}

func TestBenchTexts(t *testing.T) {
	d := NewDetector()
	for _, c := range benchCases {
		n := len(d.Find(c.text))
		if strings.HasSuffix(c.name, "clean") != (n == 0) {
			t.Errorf("%s: %d spans", c.name, n)
		}
		t.Logf("%s: %d bytes, %d spans", c.name, len(c.text), n)
	}
}
