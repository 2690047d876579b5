package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tandem-llm/tandem/backend"
	"github.com/tandem-llm/tandem/internal/httpjson"
)

// Request decoding policy.
//
//   - The body must be valid UTF-8 and one JSON object; anything else is a
//     400 naming the problem. (A lone UTF-16 surrogate written as a \u
//     escape is valid JSON and becomes U+FFFD, as in encoding/json.)
//   - Known fields are checked for type and range one by one, and an error
//     names the field ("param") and says what is wrong with it.
//   - null is the same as an absent field, as with OpenAI.
//   - Unknown fields are ignored, as OpenAI does, so clients written for
//     newer API versions keep working; their names are logged at debug level.
//   - Known fields that Tandem cannot honour (n > 1, tools, logit_bias, …) are
//     a 400 rather than silently ignored.

// request is a decoded, validated chat or completion request.
type request struct {
	backend.Request
	Stream       bool
	IncludeUsage bool
	Echo         bool     // completions: prepend the prompt to the answer
	Unknown      []string // fields not known to Tandem (ignored)
	// Tandem's own fields ("tandem": {"route": "local-only", "session": "id"}).
	RouteMode string
	Session   string
}

// decodeTandem decodes the request's "tandem" object: routing overrides.
func decodeTandem(r *request, n string, raw json.RawMessage) *apiError {
	obj, err := decodeObject(n, raw)
	if err != nil || obj == nil {
		return err
	}
	for k, v := range obj {
		switch k {
		case "route":
			if err := decodeString(&r.RouteMode, n+".route", v); err != nil {
				return err
			}
			switch r.RouteMode {
			case "", "auto", "local-only", "cloud-only":
			default:
				return fieldError(n+".route", "%q: want auto, local-only or cloud-only", r.RouteMode)
			}
		case "session":
			if err := decodeString(&r.Session, n+".session", v); err != nil {
				return err
			}
			if len(r.Session) > 256 {
				return fieldError(n+".session", "longer than 256 bytes")
			}
		default:
			return fieldError(n+"."+k, "unknown field (known: route, session)")
		}
	}
	return nil
}

// field decoders: each checks one top-level field and stores it in r.
type fieldFunc func(r *request, name string, raw json.RawMessage) *apiError

// ignored fields are known, accepted, and have no effect.
func ignored(*request, string, json.RawMessage) *apiError { return nil }

// commonField returns the decoder of a known field, or nil.
func commonField(name string) fieldFunc {
	switch name {
	case "model":
		return func(r *request, n string, raw json.RawMessage) *apiError { return decodeString(&r.Model, n, raw) }
	case "stream":
		return func(r *request, n string, raw json.RawMessage) *apiError { return decodeBool(&r.Stream, n, raw) }
	case "stream_options":
		return func(r *request, n string, raw json.RawMessage) *apiError {
			obj, err := decodeObject(n, raw)
			if err != nil || obj == nil {
				return err
			}
			if v, ok := obj["include_usage"]; ok {
				return decodeBool(&r.IncludeUsage, n+".include_usage", v)
			}
			return nil
		}
	case "max_tokens":
		return func(r *request, n string, raw json.RawMessage) *apiError {
			return decodeInt(&r.MaxTokens, n, raw, 1, math.MaxInt32)
		}
	case "stop":
		return decodeStop
	case "temperature":
		return func(r *request, n string, raw json.RawMessage) *apiError {
			return decodeFloatPtr(&r.Temperature, n, raw, 0, 2)
		}
	case "top_p":
		return func(r *request, n string, raw json.RawMessage) *apiError {
			return decodeFloatPtr(&r.TopP, n, raw, 0, 1)
		}
	case "top_k":
		return func(r *request, n string, raw json.RawMessage) *apiError {
			return decodeInt(&r.TopK, n, raw, 0, math.MaxInt32)
		}
	case "min_p":
		return func(r *request, n string, raw json.RawMessage) *apiError { return decodeFloat(&r.MinP, n, raw, 0, 1) }
	case "frequency_penalty":
		return func(r *request, n string, raw json.RawMessage) *apiError {
			return decodeFloat(&r.FrequencyPenalty, n, raw, -2, 2)
		}
	case "presence_penalty":
		return func(r *request, n string, raw json.RawMessage) *apiError {
			return decodeFloat(&r.PresencePenalty, n, raw, -2, 2)
		}
	case "seed":
		return func(r *request, n string, raw json.RawMessage) *apiError {
			var seed int64
			if isNull(raw) {
				return nil
			}
			if err := decodeInt64(&seed, n, raw); err != nil {
				return err
			}
			r.Seed = &seed
			return nil
		}
	case "n":
		return func(r *request, n string, raw json.RawMessage) *apiError {
			v := 1
			if err := decodeInt(&v, n, raw, 1, math.MaxInt32); err != nil {
				return err
			}
			if v != 1 {
				return fieldError(n, "only n=1 is supported, got %d", v)
			}
			return nil
		}
	case "logit_bias":
		return func(r *request, n string, raw json.RawMessage) *apiError {
			obj, err := decodeObject(n, raw)
			if err != nil {
				return err
			}
			if len(obj) > 0 {
				return fieldError(n, "logit_bias is not supported")
			}
			return nil
		}
	case "user":
		return ignored
	case "tandem":
		return decodeTandem
	case "metadata":
		return ignored
	case "store":
		return ignored
	case "service_tier":
		return ignored
	}
	return nil
}

// chatField returns the decoder of a known field, or nil.
func chatField(name string) fieldFunc {
	switch name {
	case "messages":
		return decodeMessages
	case "max_completion_tokens":
		return func(r *request, n string, raw json.RawMessage) *apiError {
			return decodeInt(&r.MaxTokens, n, raw, 1, math.MaxInt32)
		}
	case "logprobs":
		return func(r *request, n string, raw json.RawMessage) *apiError { return decodeBool(&r.Logprobs, n, raw) }
	case "top_logprobs":
		return func(r *request, n string, raw json.RawMessage) *apiError {
			return decodeInt(&r.TopLogprobs, n, raw, 0, 20)
		}
	case "response_format":
		return func(r *request, n string, raw json.RawMessage) *apiError {
			obj, err := decodeObject(n, raw)
			if err != nil || obj == nil {
				return err
			}
			var typ string
			if err := decodeString(&typ, n+".type", obj["type"]); err != nil {
				return err
			}
			if typ != "" && typ != "text" {
				return fieldError(n+".type", "response_format %q is not supported (only \"text\")", typ)
			}
			return nil
		}
	case "tools":
		return unsupportedIfSet
	case "functions":
		return unsupportedIfSet
	case "tool_choice":
		return ignored
	case "function_call":
		return ignored
	case "parallel_tool_calls":
		return ignored
	case "reasoning_effort":
		return ignored
	case "modalities":
		return ignored
	case "prediction":
		return ignored
	case "audio":
		return ignored
	}
	return commonField(name)
}

// completionField returns the decoder of a known field, or nil.
func completionField(name string) fieldFunc {
	switch name {
	case "prompt":
		return decodePrompt
	case "logprobs":
		return func(r *request, n string, raw json.RawMessage) *apiError {
			// Completions take the number of alternatives (0–5) here.
			if isNull(raw) {
				return nil
			}
			var v int
			if err := decodeInt(&v, n, raw, 0, 5); err != nil {
				return err
			}
			r.Logprobs, r.TopLogprobs = true, v
			return nil
		}
	case "echo":
		return func(r *request, n string, raw json.RawMessage) *apiError { return decodeBool(&r.Echo, n, raw) }
	case "best_of":
		return func(r *request, n string, raw json.RawMessage) *apiError {
			v := 1
			if err := decodeInt(&v, n, raw, 1, math.MaxInt32); err != nil {
				return err
			}
			if v != 1 {
				return fieldError(n, "only best_of=1 is supported, got %d", v)
			}
			return nil
		}
	case "suffix":
		return func(r *request, n string, raw json.RawMessage) *apiError {
			var s string
			if err := decodeString(&s, n, raw); err != nil {
				return err
			}
			if s != "" {
				return fieldError(n, "suffix is not supported")
			}
			return nil
		}
	}
	return commonField(name)
}

func unsupportedIfSet(_ *request, n string, raw json.RawMessage) *apiError {
	if isNull(raw) || string(bytes.TrimSpace(raw)) == "[]" {
		return nil
	}
	return fieldError(n, "%s is not supported by this server", n)
}

// decodeChatRequest decodes and validates a /v1/chat/completions body.
func decodeChatRequest(body []byte) (*request, *apiError) {
	r, err := decodeRequest(body, chatField)
	if err != nil {
		return nil, err
	}
	if r.Messages == nil {
		return nil, missingField("messages")
	}
	if r.TopLogprobs > 0 && !r.Logprobs {
		return nil, fieldError("top_logprobs", "top_logprobs requires logprobs to be true")
	}
	return r, nil
}

// decodeCompletionRequest decodes and validates a /v1/completions body.
func decodeCompletionRequest(body []byte) (*request, *apiError) {
	r, err := decodeRequest(body, completionField)
	if err != nil {
		return nil, err
	}
	if r.Messages != nil {
		return nil, fieldError("messages", "messages belong to /v1/chat/completions; /v1/completions takes prompt")
	}
	if r.Echo && r.Logprobs {
		return nil, fieldError("echo", "echo together with logprobs is not supported")
	}
	return r, nil
}

func decodeRequest(body []byte, endpoint func(string) fieldFunc) (*request, *apiError) {
	if !utf8.Valid(body) {
		off := invalidUTF8Offset(body)
		return nil, &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Code: "invalid_utf8",
			Message: fmt.Sprintf("the request body is not valid UTF-8 (first bad byte at offset %d)", off)}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, jsonError(body, err)
	}
	if fields == nil {
		return nil, &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Code: "invalid_json",
			Message: "the request body must be a JSON object, got null"}
	}
	r := &request{}
	// Deterministic order, so the first error reported does not vary.
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		f := endpoint(name)
		if f == nil {
			r.Unknown = append(r.Unknown, name)
			continue
		}
		if err := f(r, name, fields[name]); err != nil {
			return nil, err
		}
	}
	if r.Model == "" {
		if _, ok := fields["model"]; !ok || isNull(fields["model"]) {
			return nil, missingField("model")
		}
		return nil, fieldError("model", "model must not be empty")
	}
	if !r.Stream && r.IncludeUsage {
		// OpenAI refuses stream_options without stream; being lenient costs
		// nothing, usage is always in a non-streamed answer.
		r.IncludeUsage = false
	}
	return r, nil
}

func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// jsonError turns an encoding/json error on the whole body into a 400.
func jsonError(body []byte, err error) *apiError {
	e := &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Code: "invalid_json"}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		e.Message = "the request body is empty; expected a JSON object"
	case errors.As(err, &syn):
		e.Message = fmt.Sprintf("the request body is not valid JSON: %v (at byte %d)", syn, syn.Offset)
	case errors.As(err, &typ):
		e.Message = fmt.Sprintf("the request body must be a JSON object, got %s", typ.Value)
	default:
		e.Message = "the request body is not valid JSON: " + err.Error()
	}
	return e
}

func missingField(name string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: name, Code: "missing_required_parameter",
		Message: fmt.Sprintf("missing required parameter: %q", name)}
}

func fieldError(name, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: name, Code: "invalid_value",
		Message: fmt.Sprintf("%s: %s", name, fmt.Sprintf(format, args...))}
}

func typeError(name, want string, raw json.RawMessage) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: name, Code: "invalid_type",
		Message: fmt.Sprintf("%s: expected %s, got %s", name, want, httpjson.Kind(raw))}
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

func decodeString(dst *string, name string, raw json.RawMessage) *apiError {
	if isNull(raw) {
		return nil
	}
	if httpjson.Kind(raw) != "a string" || json.Unmarshal(raw, dst) != nil {
		return typeError(name, "a string", raw)
	}
	return nil
}

func decodeBool(dst *bool, name string, raw json.RawMessage) *apiError {
	if isNull(raw) {
		return nil
	}
	if httpjson.Kind(raw) != "a boolean" || json.Unmarshal(raw, dst) != nil {
		return typeError(name, "a boolean", raw)
	}
	return nil
}

func decodeObject(name string, raw json.RawMessage) (map[string]json.RawMessage, *apiError) {
	if isNull(raw) {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if httpjson.Kind(raw) != "an object" || json.Unmarshal(raw, &obj) != nil {
		return nil, typeError(name, "an object", raw)
	}
	return obj, nil
}

func decodeArray(name string, raw json.RawMessage) ([]json.RawMessage, *apiError) {
	var arr []json.RawMessage
	if httpjson.Kind(raw) != "an array" || json.Unmarshal(raw, &arr) != nil {
		return nil, typeError(name, "an array", raw)
	}
	return arr, nil
}

// number parses a JSON number without losing its text (for range messages).
func number(name string, raw json.RawMessage, want string) (string, *apiError) {
	if httpjson.Kind(raw) != "a number" {
		return "", typeError(name, want, raw)
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", typeError(name, want, raw)
	}
	return n.String(), nil
}

func decodeFloat(dst *float64, name string, raw json.RawMessage, lo, hi float64) *apiError {
	if isNull(raw) {
		return nil
	}
	s, err := number(name, raw, "a number")
	if err != nil {
		return err
	}
	v, perr := strconv.ParseFloat(s, 64)
	if perr != nil || v < lo || v > hi || math.IsNaN(v) {
		return fieldError(name, "%s is out of range [%g, %g]", s, lo, hi)
	}
	*dst = v
	return nil
}

func decodeFloatPtr(dst **float64, name string, raw json.RawMessage, lo, hi float64) *apiError {
	if isNull(raw) {
		return nil
	}
	var v float64
	if err := decodeFloat(&v, name, raw, lo, hi); err != nil {
		return err
	}
	*dst = &v
	return nil
}

// integer parses a JSON number that must be a whole number (1 and 1.0 are;
// 1.5 is not).
func integer(name string, raw json.RawMessage) (int64, string, *apiError) {
	s, err := number(name, raw, "an integer")
	if err != nil {
		return 0, "", err
	}
	if v, perr := strconv.ParseInt(s, 10, 64); perr == nil {
		return v, s, nil
	}
	f, perr := strconv.ParseFloat(s, 64)
	switch {
	case perr != nil || math.Abs(f) >= 1<<62:
		return 0, s, fieldError(name, "%s is out of range", s)
	case f != math.Trunc(f):
		e := typeError(name, "an integer", raw)
		e.Message = fmt.Sprintf("%s: expected an integer, got %s", name, s)
		return 0, s, e
	}
	return int64(f), s, nil
}

func decodeInt(dst *int, name string, raw json.RawMessage, lo, hi int64) *apiError {
	if isNull(raw) {
		return nil
	}
	v, s, err := integer(name, raw)
	if err != nil {
		return err
	}
	if v < lo || v > hi {
		return fieldError(name, "%s is out of range [%d, %d]", s, lo, hi)
	}
	*dst = int(v)
	return nil
}

func decodeInt64(dst *int64, name string, raw json.RawMessage) *apiError {
	v, _, err := integer(name, raw)
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

// maxStops is OpenAI's limit on stop sequences.
const maxStops = 4

func decodeStop(r *request, name string, raw json.RawMessage) *apiError {
	if isNull(raw) {
		return nil
	}
	var stops []string
	switch httpjson.Kind(raw) {
	case "a string":
		var s string
		if err := decodeString(&s, name, raw); err != nil {
			return err
		}
		stops = []string{s}
	case "an array":
		arr, err := decodeArray(name, raw)
		if err != nil {
			return err
		}
		if len(arr) > maxStops {
			return fieldError(name, "at most %d stop sequences are allowed, got %d", maxStops, len(arr))
		}
		for i, v := range arr {
			var s string
			if isNull(v) {
				return typeError(fmt.Sprintf("%s[%d]", name, i), "a string", v)
			}
			if err := decodeString(&s, fmt.Sprintf("%s[%d]", name, i), v); err != nil {
				return err
			}
			stops = append(stops, s)
		}
	default:
		return typeError(name, "a string or an array of strings", raw)
	}
	for i, s := range stops {
		if s == "" {
			return fieldError(fmt.Sprintf("%s[%d]", name, i), "stop sequences must not be empty")
		}
	}
	r.Stop = stops
	return nil
}

func decodePrompt(r *request, name string, raw json.RawMessage) *apiError {
	if isNull(raw) {
		return missingField(name)
	}
	switch httpjson.Kind(raw) {
	case "a string":
		return decodeString(&r.Prompt, name, raw)
	case "an array":
		arr, err := decodeArray(name, raw)
		if err != nil {
			return err
		}
		if len(arr) != 1 || httpjson.Kind(arr[0]) != "a string" {
			return fieldError(name, "only a single string prompt is supported (a string, or an array of one string)")
		}
		return decodeString(&r.Prompt, name+"[0]", arr[0])
	}
	return typeError(name, "a string or an array of one string", raw)
}

func decodeMessages(r *request, name string, raw json.RawMessage) *apiError {
	if isNull(raw) {
		return missingField(name)
	}
	arr, err := decodeArray(name, raw)
	if err != nil {
		return err
	}
	if len(arr) == 0 {
		return fieldError(name, "at least one message is required")
	}
	msgs := make([]backend.Message, 0, len(arr))
	for i, m := range arr {
		p := fmt.Sprintf("%s[%d]", name, i)
		obj, err := decodeObject(p, m)
		if err != nil {
			return err
		}
		if obj == nil {
			return typeError(p, "an object", m)
		}
		var msg backend.Message
		if isNull(obj["role"]) {
			return missingField(p + ".role")
		}
		if err := decodeString(&msg.Role, p+".role", obj["role"]); err != nil {
			return err
		}
		switch msg.Role {
		case "system", "developer", "user", "assistant", "tool", "function":
		default:
			return fieldError(p+".role", "unknown role %q (want system, developer, user, assistant, tool or function)", msg.Role)
		}
		if msg.Role == "developer" {
			msg.Role = "system" // OpenAI's new name for system prompts
		}
		content, cerr := decodeContent(p+".content", obj["content"])
		if cerr != nil {
			return cerr
		}
		msg.Content = content
		msgs = append(msgs, msg)
	}
	r.Messages = msgs
	return nil
}

// decodeContent accepts a string, null (an assistant turn that only called
// tools) or an array of text parts, which are joined.
func decodeContent(name string, raw json.RawMessage) (string, *apiError) {
	if isNull(raw) {
		return "", nil
	}
	switch httpjson.Kind(raw) {
	case "a string":
		var s string
		return s, decodeString(&s, name, raw)
	case "an array":
		arr, err := decodeArray(name, raw)
		if err != nil {
			return "", err
		}
		var sb strings.Builder
		for i, part := range arr {
			p := fmt.Sprintf("%s[%d]", name, i)
			obj, err := decodeObject(p, part)
			if err != nil {
				return "", err
			}
			if obj == nil {
				return "", typeError(p, "an object", part)
			}
			var typ, text string
			if err := decodeString(&typ, p+".type", obj["type"]); err != nil {
				return "", err
			}
			if typ != "text" {
				return "", fieldError(p+".type", "content part type %q is not supported (only \"text\")", typ)
			}
			if err := decodeString(&text, p+".text", obj["text"]); err != nil {
				return "", err
			}
			sb.WriteString(text)
		}
		return sb.String(), nil
	}
	return "", typeError(name, "a string or an array of content parts", raw)
}
