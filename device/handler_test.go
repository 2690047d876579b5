package device

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func do(t testing.TB, h http.Handler, method, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, "/v1/device/state", strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var m map[string]any
	b, _ := io.ReadAll(rec.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %q: response is not JSON: %q", method, body, b)
	}
	return rec.Code, m
}

func TestHandlerPostThenGet(t *testing.T) {
	m := NewMonitor(MonitorOptions{})
	h := Handler(m, func(st State) any {
		return []Prediction{NewCostModel(DefaultCostParams()).Predict(TierSpec{Name: "local-1b", Local: true, ParamsB: 1}, 10, 100, st)}
	})
	code, _ := do(t, h, "POST", `{"battery_pct": 42, "charging": false, "thermal_status": "severe", "network": "wifi", "mem_available_bytes": 1073741824, "ttl_seconds": 60}`)
	if code != 200 {
		t.Fatalf("POST: %d", code)
	}
	code, got := do(t, h, "GET", "")
	st := got["state"].(map[string]any)
	if code != 200 || st["battery_pct"] != 42.0 || st["thermal_status"] != "severe" || st["network"] != "wifi" || st["mem_available_bytes"] != 1073741824.0 {
		t.Errorf("GET: %d %v", code, st)
	}
	if src := st["sources"].(map[string]any); src["battery_pct"] != "push" {
		t.Errorf("sources %v", src)
	}
	preds, ok := got["predictions"].([]any)
	if !ok || len(preds) != 1 || preds[0].(map[string]any)["tier"] != "local-1b" {
		t.Errorf("predictions %v", got["predictions"])
	}
	if _, ok := st["cloud_rtt_ms"]; !ok {
		t.Errorf("no cloud_rtt_ms in %v", st)
	}
}

func TestHandlerErrors(t *testing.T) {
	h := Handler(NewMonitor(MonitorOptions{}), nil)
	for _, c := range []struct {
		body   string
		status int
		param  any
	}{
		{`{"battery_pct": 150}`, 400, "battery_pct"},
		{`{"battery_pct": "full"}`, 400, "battery_pct"},
		{`{"thermal_status": "warm"}`, 400, "thermal_status"},
		{`{"thermal_status": 3}`, 400, "thermal_status"},
		{`{"charging": "yes"}`, 400, "charging"},
		{`{"mem_available_bytes": -1}`, 400, "mem_available_bytes"},
		{`{"network": "5g"}`, 400, "network"},
		{`{"ttl_seconds": 1e9}`, 400, "ttl_seconds"},
		{`{"volume": 3}`, 400, "volume"},
		{`{"network": "5g", "battery_pct": 500}`, 400, "network"}, // the first bad field in the body
		{`{"battery_pct": 500, "network": "5g"}`, 400, "battery_pct"},
		{`[1,2]`, 400, nil},
		{`{"battery_pct": 5} {}`, 400, nil},
		{`{`, 400, nil},
		{`null`, 400, nil},
		{"{\"network\": \"\xff\"}", 400, nil},
		{`{"battery_pct": 5, "pad": "` + strings.Repeat("x", 70<<10) + `"}`, 413, nil},
	} {
		code, m := do(t, h, "POST", c.body)
		e, _ := m["error"].(map[string]any)
		if code != c.status || e == nil || e["param"] != c.param || e["type"] != "invalid_request_error" || e["message"] == "" {
			t.Errorf("%.60q: %d %v, want %d param %v", c.body, code, m, c.status, c.param)
		}
		if c.param != nil && !strings.Contains(e["message"].(string), c.param.(string)) {
			t.Errorf("%.60q: message %q does not name the field", c.body, e["message"])
		}
	}
	if code, _ := do(t, h, "DELETE", ""); code != 405 {
		t.Errorf("DELETE: %d", code)
	}
	// A null is as if absent.
	if code, _ := do(t, h, "POST", `{"battery_pct": null}`); code != 200 {
		t.Errorf("null: %d", code)
	}
}

func FuzzHandlerPost(f *testing.F) {
	for _, s := range []string{`{}`, `{"battery_pct": 42, "charging": true}`, `{"thermal_status":"severe","ttl_seconds":10}`,
		`{"mem_available_bytes": 1e99}`, `{"network":"offline","metered":null}`, `[]`, `"x"`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h := Handler(NewMonitor(MonitorOptions{}), func(st State) any { return st.BatteryPct })
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/device/state", strings.NewReader(string(body))))
		if rec.Code != 200 && rec.Code != 400 && rec.Code != 413 {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("invalid JSON answer %q", rec.Body)
		}
	})
}
