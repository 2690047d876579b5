package device

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/tandem-llm/tandem/internal/httpjson"
)

// MaxUpdateBody is the largest POST body the handler reads.
const MaxUpdateBody = 64 << 10

// Handler serves the device state at any path it is mounted on (the server
// mounts it at /v1/device/state):
//
//	POST: a JSON object with any subset of Update's fields → 200 and the new state;
//	      unknown field, wrong type or out of range → 400 naming the field; > 64 KiB → 413.
//	GET:  {"state": State, "predictions": pred(state)} (predictions omitted when pred is nil).
func Handler(m *Monitor, pred func(State) any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodPost:
			if err := decodeUpdate(w, r, m); err != nil {
				var he *httpError
				if !errors.As(err, &he) {
					he = &httpError{status: http.StatusBadRequest, msg: err.Error()}
				}
				he.write(w)
				return
			}
		default:
			w.Header().Set("Allow", "GET, POST")
			(&httpError{status: http.StatusMethodNotAllowed, msg: "method " + r.Method + " not allowed (GET or POST)"}).write(w)
			return
		}
		st := m.State()
		resp := struct {
			State       State `json:"state"`
			Predictions any   `json:"predictions,omitempty"`
		}{State: st}
		if pred != nil {
			resp.Predictions = pred(st)
		}
		httpjson.Write(w, http.StatusOK, resp)
	})
}

type httpError struct {
	status int
	msg    string
	param  string
	code   string
}

func (e *httpError) Error() string { return e.msg }

// write answers in OpenAI's shape: {"error":{"message","type","param","code"}}.
func (e *httpError) write(w http.ResponseWriter) {
	var param, code *string
	if e.param != "" {
		param = &e.param
	}
	if e.code != "" {
		code = &e.code
	}
	typ := "invalid_request_error"
	if e.status >= 500 {
		typ = "server_error"
	}
	httpjson.Write(w, e.status, map[string]any{"error": map[string]any{"message": e.msg, "type": typ, "param": param, "code": code}})
}

// decodeUpdate reads the body field by field so that an error names its
// field, then pushes it.
func decodeUpdate(w http.ResponseWriter, r *http.Request, m *Monitor) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxUpdateBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &httpError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request body over %d bytes", MaxUpdateBody), code: "request_too_large"}
		}
		return &httpError{status: http.StatusBadRequest, msg: "reading the body: " + err.Error()}
	}
	if !utf8.Valid(body) {
		return &httpError{status: http.StatusBadRequest, msg: "body is not valid UTF-8"}
	}
	// Walk the object in document order, so the first bad field is reported.
	notObject := &httpError{status: http.StatusBadRequest, msg: "body must be one JSON object"}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return notObject
	}
	var u Update
	uv := reflect.ValueOf(&u).Elem()
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok {
			return notObject
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf("%s: malformed JSON: %v", key, err), param: key}
		}
		i, ok := updateField(key)
		if !ok {
			return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf("unknown field %q", key), param: key, code: "unknown_field"}
		}
		if string(raw) == "null" {
			continue // as if absent
		}
		f := uv.Field(i)
		if err := json.Unmarshal(raw, f.Addr().Interface()); err != nil {
			return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf("%s: want %s, got %s", key, wantKind(f.Type().Elem().Kind()), gotJSON(raw)), param: key, code: "invalid_type"}
		}
		// Check the value now, so the first bad field in the body is reported.
		var one Update
		reflect.ValueOf(&one).Elem().Field(i).Set(f)
		if _, _, err := one.toState(0); err != nil {
			return fieldError(err)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return notObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return &httpError{status: http.StatusBadRequest, msg: "body must be one JSON object (trailing data)"}
	}
	if err := m.Push(u); err != nil {
		return fieldError(err)
	}
	return nil
}

func fieldError(err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return &httpError{status: http.StatusBadRequest, msg: fe.Error(), param: fe.Field, code: "invalid_value"}
	}
	return err
}

// updateField finds the index of the Update field with JSON name key.
func updateField(key string) (int, bool) {
	t := reflect.TypeFor[Update]()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name == key {
			return i, true
		}
	}
	return 0, false
}

func wantKind(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Uint64:
		return "a non-negative integer"
	}
	return "a number"
}

// gotJSON describes a wrong value for an error message: its JSON type, and
// the value itself for strings and numbers.
func gotJSON(raw json.RawMessage) string {
	k := httpjson.Kind(raw)
	if k == "a string" || k == "a number" {
		return k + " " + clip(string(bytes.TrimSpace(raw)))
	}
	return k
}
