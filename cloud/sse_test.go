package cloud

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// readAllEvents parses r to the end: the events' data and the final error
// (nil for a clean io.EOF).
func readAllEvents(r io.Reader) ([]string, error) {
	s := newSSEReader(r, nil)
	var evs []string
	for range 1 << 20 {
		d, err := s.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return evs, err
		}
		evs = append(evs, string(d))
	}
	return evs, errors.New("too many events")
}

func TestSSE(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"data: a\n\ndata: b\n\n", []string{"a", "b"}},
		{"data:a\r\n\r\ndata:  b\r\rdata: c\n", []string{"a", " b", "c"}},
		{"\xef\xbb\xbfdata: bom\n\n", []string{"bom"}},
		{": comment\nevent: x\nid: 1\nretry: 5\ndata: x\n\n", []string{"x"}},
		{"data: 1\ndata: 2\n\n", []string{"1\n2"}},
		{"data\n\n", []string{""}},
		{"event: only\n\n\n\n", nil},
		{"data: partial", nil},
		{"data: [DONE]\n", []string{"[DONE]"}},
		{"data: x\r\n\r", []string{"x"}},
		{"datum: x\n\n", nil},
	} {
		got, err := readAllEvents(strings.NewReader(c.in))
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %q %v, want %q", c.in, got, err, c.want)
		}
		got1, err1 := readAllEvents(iotest.OneByteReader(strings.NewReader(c.in)))
		if !reflect.DeepEqual(got, got1) || err1 != nil {
			t.Errorf("%q one byte at a time: %q %v", c.in, got1, err1)
		}
	}
	// Lines longer than the limit fail instead of growing without bound.
	long := "data: " + strings.Repeat("x", 3<<20) + "\n\n"
	if _, err := readAllEvents(strings.NewReader(long)); !errors.Is(err, errSSETooLarge) {
		t.Errorf("long line: %v", err)
	}
	many := strings.Repeat("data: "+strings.Repeat("y", 1000)+"\n", 2000) + "\n"
	if _, err := readAllEvents(strings.NewReader(many)); !errors.Is(err, errSSETooLarge) {
		t.Errorf("large event: %v", err)
	}
	// A read error other than EOF is returned.
	boom := errors.New("boom")
	if _, err := readAllEvents(io.MultiReader(strings.NewReader("data: a\n"), iotest.ErrReader(boom))); !errors.Is(err, boom) {
		t.Errorf("read error: %v", err)
	}
}

// FuzzSSE checks the parser on arbitrary input: no panic, the same events
// however the input is split into reads, no CR or LF inside an event
// except the LF joining data lines, and encoding the events again parses
// back to the same events.
func FuzzSSE(f *testing.F) {
	for _, s := range []string{
		"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n",
		"data:a\r\n\r\ndata:  b\r\rdata: c\n",
		"\xef\xbb\xbfdata: x\n\n",
		": keepalive\n\nevent: e\ndata: 1\ndata: 2\n\n",
		"data\n\ndata:\n\n",
		"\r\r\n\n\rdata: x\r",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		evs, err := readAllEvents(bytes.NewReader(in))
		evs1, err1 := readAllEvents(iotest.OneByteReader(bytes.NewReader(in)))
		half := bytes.NewReader(in[len(in)/2:])
		evs2, err2 := readAllEvents(io.MultiReader(iotest.HalfReader(bytes.NewReader(in[:len(in)/2])), half))
		if !reflect.DeepEqual(evs, evs1) || !reflect.DeepEqual(evs, evs2) || (err == nil) != (err1 == nil) || (err == nil) != (err2 == nil) {
			t.Fatalf("split reads differ:\n%q %v\n%q %v\n%q %v", evs, err, evs1, err1, evs2, err2)
		}
		if err != nil {
			if !errors.Is(err, errSSETooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		var enc strings.Builder
		for _, e := range evs {
			if strings.ContainsRune(e, '\r') {
				t.Fatalf("CR in event %q", e)
			}
			for _, line := range strings.Split(e, "\n") {
				enc.WriteString("data: " + line + "\n")
			}
			enc.WriteString("\n")
		}
		again, err := readAllEvents(strings.NewReader(enc.String()))
		if err != nil || !reflect.DeepEqual(again, evs) {
			t.Fatalf("re-encoded %q parsed as %q %v, want %q", enc.String(), again, err, evs)
		}
	})
}
