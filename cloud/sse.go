package cloud

import (
	"bytes"
	"errors"
	"io"
)

// maxSSESize bounds one line and one event's data: an upstream that sends
// an endless line cannot make us buffer without limit.
const maxSSESize = 1 << 20

var errSSETooLarge = errors.New("cloud: SSE line or event larger than 1 MiB")

// sseReader parses a text/event-stream (WHATWG HTML §9.2.6) and returns
// the data of each event. Lines end with CRLF, LF or CR; lines starting
// with ':' are comments; fields other than data (event, id, retry) are
// ignored; a single space after the colon is dropped; several data lines
// are joined with LF. One leniency: at end of stream, complete data lines
// not yet followed by a blank line are still dispatched (servers that end
// with "data: [DONE]\n" and close); a partial last line is discarded.
type sseReader struct {
	rd     io.Reader
	buf    []byte
	r, w   int
	err    error // sticky read error
	skipLF bool  // the last line ended with CR: a following LF belongs to it
	bom    bool  // the leading byte order mark was checked
	data   []byte
	onLine func() // called for every line read (stall-timer reset); may be nil
}

func newSSEReader(rd io.Reader, onLine func()) *sseReader {
	return &sseReader{rd: rd, buf: make([]byte, 4096), onLine: onLine}
}

// next returns the data of the next event, valid until the following call.
// At the end of the stream it returns io.EOF (or the read error).
func (s *sseReader) next() ([]byte, error) {
	s.data = s.data[:0]
	has := false
	for {
		line, err := s.readLine()
		if err != nil {
			if has && errors.Is(err, io.EOF) {
				return s.data[:len(s.data)-1], nil
			}
			return nil, err
		}
		if s.onLine != nil {
			s.onLine()
		}
		if len(line) == 0 {
			if has {
				return s.data[:len(s.data)-1], nil
			}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		if string(field) != "data" {
			continue
		}
		if len(s.data)+len(value)+1 > maxSSESize {
			return nil, errSSETooLarge
		}
		s.data = append(s.data, value...)
		s.data = append(s.data, '\n')
		has = true
	}
}

// readLine returns the next line without its terminator; the slice is
// valid until the next call. A partial line at the end is dropped.
func (s *sseReader) readLine() ([]byte, error) {
	for empty := 0; ; {
		if s.skipLF && s.r < s.w {
			if s.buf[s.r] == '\n' {
				s.r++
			}
			s.skipLF = false
		}
		if !s.bom && s.r < s.w {
			// A leading UTF-8 byte order mark is dropped.
			if avail := s.buf[s.r:s.w]; avail[0] != 0xef {
				s.bom = true
			} else if len(avail) >= 3 {
				s.bom = true
				if bytes.HasPrefix(avail, []byte("\xef\xbb\xbf")) {
					s.r += 3
				}
			}
		}
		if s.bom || s.err != nil {
			if i := bytes.IndexAny(s.buf[s.r:s.w], "\r\n"); i >= 0 {
				line := s.buf[s.r : s.r+i]
				s.skipLF = s.buf[s.r+i] == '\r'
				s.r += i + 1
				s.bom = true
				return line, nil
			}
		}
		if s.err != nil {
			return nil, s.err
		}
		if s.r > 0 {
			s.w = copy(s.buf, s.buf[s.r:s.w])
			s.r = 0
		}
		if s.w == len(s.buf) {
			if len(s.buf) > maxSSESize {
				return nil, errSSETooLarge
			}
			nb := make([]byte, 2*len(s.buf))
			copy(nb, s.buf[:s.w])
			s.buf = nb
		}
		n, err := s.rd.Read(s.buf[s.w:])
		s.w += n
		if err != nil {
			s.err = err
		}
		if n == 0 && err == nil {
			if empty++; empty > 100 {
				s.err = io.ErrNoProgress
			}
		}
	}
}
