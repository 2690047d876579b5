package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// keyID identifies an API key by its index in the keyring; noKey when keys
// are not configured.
type keyID int

const noKey keyID = -1

// keyring checks API keys and keeps each key's request rate and daily token
// use. Keys are kept only as SHA-256 digests, and every configured digest is
// compared (in constant time) with the presented one, so neither timing nor
// an early exit tells how much of a key matched.
type keyring struct {
	digests [][sha256.Size]byte
	rpm     int
	tpd     int64
	now     func() time.Time

	mu    sync.Mutex
	state []keyState
}

type keyState struct {
	tokens float64   // request tokens in the bucket (capacity rpm)
	last   time.Time // when tokens was last refilled
	day    int64     // UTC day (days since the epoch) used counts
	used   int64     // tokens used on day
}

func newKeyring(keys []string, rpm int, tpd int64, now func() time.Time) *keyring {
	k := &keyring{rpm: rpm, tpd: tpd, now: now}
	for _, key := range keys {
		if key = strings.TrimSpace(key); key != "" {
			k.digests = append(k.digests, sha256.Sum256([]byte(key)))
		}
	}
	k.state = make([]keyState, len(k.digests))
	for i := range k.state {
		k.state[i].tokens = float64(rpm)
	}
	return k
}

// admit authenticates r and takes one request from its key's rate limit.
func (k *keyring) admit(r *http.Request) (keyID, *apiError) {
	if len(k.digests) == 0 {
		return noKey, nil
	}
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		token, ok = strings.CutPrefix(auth, "bearer ")
	}
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		return noKey, &apiError{Status: http.StatusUnauthorized, Type: typeAuthentication, Code: "missing_api_key",
			Message: "an API key is required: send it as \"Authorization: Bearer KEY\""}
	}
	d := sha256.Sum256([]byte(token))
	found := noKey
	for i := range k.digests {
		if subtle.ConstantTimeCompare(d[:], k.digests[i][:]) == 1 {
			found = keyID(i)
		}
	}
	if found == noKey {
		return noKey, &apiError{Status: http.StatusUnauthorized, Type: typeAuthentication, Code: "invalid_api_key",
			Message: "the API key is not valid"}
	}
	if k.rpm <= 0 {
		return found, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	st := &k.state[found]
	now := k.now()
	if !st.last.IsZero() {
		st.tokens = min(float64(k.rpm), st.tokens+now.Sub(st.last).Minutes()*float64(k.rpm))
	}
	st.last = now
	if st.tokens < 1 {
		wait := time.Duration((1 - st.tokens) / float64(k.rpm) * float64(time.Minute))
		return found, &apiError{Status: http.StatusTooManyRequests, Type: typeRateLimit, Code: "rate_limit_exceeded",
			Message:    fmt.Sprintf("rate limit of %d requests per minute reached for this key", k.rpm),
			RetryAfter: max(wait, time.Second)}
	}
	st.tokens--
	return found, nil
}

func utcDay(t time.Time) int64 { return t.UTC().Unix() / 86400 }

// budget refuses a request when its key has used its tokens for the day.
func (k *keyring) budget(id keyID) *apiError {
	if id == noKey || k.tpd <= 0 {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	st := &k.state[id]
	now := k.now()
	if d := utcDay(now); st.day != d {
		st.day, st.used = d, 0
	}
	if st.used < k.tpd {
		return nil
	}
	midnight := time.Unix((utcDay(now)+1)*86400, 0)
	return &apiError{Status: http.StatusTooManyRequests, Type: typeRateLimit, Code: "token_budget_exceeded",
		Message:    fmt.Sprintf("this key has used its budget of %d tokens for today (UTC)", k.tpd),
		RetryAfter: midnight.Sub(now)}
}

// charge adds a finished request's tokens to its key's daily use.
func (k *keyring) charge(id keyID, tokens int64) {
	if id == noKey || k.tpd <= 0 || tokens <= 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	st := &k.state[id]
	if d := utcDay(k.now()); st.day != d {
		st.day, st.used = d, 0
	}
	st.used += tokens
}
