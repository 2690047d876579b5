package cloud

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tandem-llm/tandem/backend"
)

// directStream is the baseline: a minimal client that posts the same body
// and parses the same stream, without the Pool's machinery.
func directStream(ctx context.Context, c *http.Client, url string, body []byte) (ttfb, total time.Duration, text string, err error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, "", err
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	var sb bytes.Buffer
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return ttfb, time.Since(start), sb.String(), fmt.Errorf("stream: %w", err)
		}
		data, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("data: "))
		if !ok {
			continue
		}
		if string(data) == "[DONE]" {
			total = time.Since(start)
			_, _ = io.Copy(io.Discard, br) // let the connection be reused
			return ttfb, total, sb.String(), nil
		}
		var ch wireChunk
		if err := json.Unmarshal(data, &ch); err != nil {
			return 0, 0, "", err
		}
		if len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != nil && *ch.Choices[0].Delta.Content != "" {
			if ttfb == 0 {
				ttfb = time.Since(start)
			}
			sb.WriteString(*ch.Choices[0].Delta.Content)
		}
	}
}

func pct(d []time.Duration, p float64) float64 {
	slices.Sort(d)
	return float64(d[int(p*float64(len(d)-1))].Microseconds())
}

// BenchmarkProxyOverhead measures the latency the Pool adds over a direct
// client to a fast fake upstream at 200 concurrent streams. Each
// iteration starts 200 streams at once, alternately through the Pool and
// directly, so that both paths see the same load (the machine may be
// shared); the p50/p99 of time to first text and of total time are
// reported per path, and the p50 differences as overhead.
func BenchmarkProxyOverhead(b *testing.B) {
	const streams = 200
	f := newFake(b)
	p := newTestPool(b, Options{HealthInterval: -1}, f)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 512
	tr.DisableCompression = true
	direct := &http.Client{Transport: tr}
	ctx := context.Background()

	reqs := make([]*backend.Request, streams)
	bodies := make([][]byte, streams)
	wants := make([]string, streams)
	for i := range reqs {
		q := fmt.Sprint("bench ", i)
		reqs[i], wants[i] = chatReq(q), chatExpected(q)
		st := &stream{req: reqs[i]}
		bodies[i], _ = st.body(p.reps[0], "")
	}
	var dT, dTot, pT, pTot []time.Duration
	var mu sync.Mutex
	round := func(iter int, record bool) {
		var wg sync.WaitGroup
		for i := range streams {
			wg.Go(func() {
				var ttfb, total time.Duration
				var text string
				var err error
				viaPool := (i+iter)%2 == 0
				if viaPool {
					res := collect(ctx, p, reqs[i])
					ttfb, total, text, err = res.ttfb, res.total, res.text, res.err
				} else {
					ttfb, total, text, err = directStream(ctx, direct, f.url()+"/chat/completions", bodies[i])
				}
				if err != nil || text != wants[i] {
					b.Errorf("pool %v: %v %q", viaPool, err, text)
				}
				if !record {
					return
				}
				mu.Lock()
				if viaPool {
					pT, pTot = append(pT, ttfb), append(pTot, total)
				} else {
					dT, dTot = append(dT, ttfb), append(dTot, total)
				}
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	round(0, false) // open the connections
	round(1, false)
	iter := 0
	for b.Loop() {
		round(iter, true)
		iter++
	}
	if n := f.conns.Load(); n > 2*streams {
		b.Errorf("%d connections for %d streams: not reused", n, (iter+2)*streams)
	}
	b.ReportMetric(pct(dT, .5), "direct-ttfb-p50-µs")
	b.ReportMetric(pct(pT, .5), "pool-ttfb-p50-µs")
	b.ReportMetric(pct(dT, .99), "direct-ttfb-p99-µs")
	b.ReportMetric(pct(pT, .99), "pool-ttfb-p99-µs")
	b.ReportMetric(pct(dTot, .5), "direct-total-p50-µs")
	b.ReportMetric(pct(pTot, .5), "pool-total-p50-µs")
	b.ReportMetric(pct(dTot, .99), "direct-total-p99-µs")
	b.ReportMetric(pct(pTot, .99), "pool-total-p99-µs")
	b.ReportMetric(pct(pT, .5)-pct(dT, .5), "overhead-ttfb-p50-µs")
	b.ReportMetric(pct(pTot, .5)-pct(dTot, .5), "overhead-total-p50-µs")
}
