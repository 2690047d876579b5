package cloud

import (
	"fmt"
	"time"
)

// Observer receives the Pool's events, e.g. to count them in Prometheus
// without this package importing a metrics library. Methods are called
// synchronously from request and prober goroutines, concurrently, and must
// be fast and safe for concurrent use. Embed NopObserver to implement only
// some of them (and stay source-compatible when methods are added).
type Observer interface {
	// OnAttempt reports the end of one attempt on a replica (its
	// Upstream.URL): err is nil when the attempt finished the answer, an
	// *UpstreamError when the upstream failed (errors.As gives Kind and
	// Status for labels), or the context's or emit's error.
	OnAttempt(replica string, err error)
	// OnBreaker reports a replica's circuit breaker opening (open=true,
	// also when a half-open probe fails) or closing again.
	OnBreaker(replica string, open bool)
	// OnTTFT reports, once per request that produced text, the time from
	// Stream's call to its first emitted text, retries included, and the
	// replica that produced it.
	OnTTFT(replica string, d time.Duration)
	// OnHealth reports a replica's health-check state changing.
	OnHealth(replica string, up bool)
}

// NopObserver ignores every event.
type NopObserver struct{}

func (NopObserver) OnAttempt(string, error)      {}
func (NopObserver) OnBreaker(string, bool)       {}
func (NopObserver) OnTTFT(string, time.Duration) {}
func (NopObserver) OnHealth(string, bool)        {}

// Kinds of UpstreamError.
const (
	KindConnect     = "connect"            // dial or send failed (refused, reset, DNS, TLS)
	KindStatus      = "status"             // non-2xx answer; Status says which
	KindFirstByte   = "first_byte_timeout" // no headers or first event within FirstByteTimeout
	KindStall       = "stall"              // no line for StallTimeout after the first event
	KindCut         = "cut"                // stream broke or ended before finish_reason / [DONE]
	KindStreamError = "stream_error"       // error object or finish_reason "abort"/"error" in the stream
	KindProtocol    = "protocol"           // undecodable chunk or response
)

// UpstreamError is one failed attempt on one replica.
type UpstreamError struct {
	Replica string // Upstream.URL
	Kind    string // one of the Kind constants
	Status  int    // HTTP status when Kind is KindStatus
	Code    string // upstream error code or type, when it sent one
	Message string // upstream error message, when it sent one
	Err     error  // underlying cause, may be nil
}

func (e *UpstreamError) Error() string {
	s := "cloud: upstream " + e.Replica + ": " + e.Kind
	if e.Status != 0 {
		s += fmt.Sprintf(" %d", e.Status)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *UpstreamError) Unwrap() error { return e.Err }
