package chat

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Detect recognises a chat template's family by markers distinctive of its
// published source, in the manner of llama.cpp's llm_chat_detect_template.
// A bare family name (one of Names) is accepted too. An empty template
// yields an error wrapping ErrNoTemplate, an unknown one ErrUnrecognised;
// both name the chat_template setting and its values.
func Detect(tmpl string) (Template, error) {
	if strings.TrimSpace(tmpl) == "" {
		return Template{}, fmt.Errorf("%w; set chat_template to one of: %s", ErrNoTemplate, namesList())
	}
	if t, err := ByName(tmpl); err == nil {
		return t, nil
	}
	has := func(subs ...string) bool {
		for _, s := range subs {
			if !strings.Contains(tmpl, s) {
				return false
			}
		}
		return true
	}
	hasAny := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(tmpl, s) {
				return true
			}
		}
		return false
	}

	switch {
	case has("<|turn>", "<turn|>"):
		return preset("gemma4"), nil

	case has("<|im_start|>"):
		switch {
		case has("<|im_sep|>"):
			t := preset("phi4")
			t.legacy = !has("add_generation_prompt")
			return t, nil
		case has("<end_of_utterance>"): // SmolVLM: <|im_start|> is its BOS, not ChatML
			return Template{}, unrecognised(tmpl)
		case has("<think>", "last_query_index"):
			t := preset("qwen3")
			t.thinkGen = hasLiteral(tmpl, "<|im_start|>assistant\n<think>\n")
			return t, nil
		case has("<think>"): // QwQ, SmolLM3, …: reasoning handling of their own
			return Template{}, unrecognised(tmpl)
		}
		sys := chatMLDefaultSystem(tmpl)
		if has("tool_calls", "<tool_response>") {
			t := preset("qwen2.5")
			t.system = sys
			return t, nil
		}
		var t Template
		switch sys {
		case "":
			t = preset("chatml")
		case smollmSystem:
			t = preset("smollm")
		default:
			t = preset("qwen2") // Qwen1.5/2's template shape, whatever its default text
		}
		t.system = sys
		return t, nil

	case has("[INST]"):
		switch {
		case has("[SYSTEM_PROMPT]"):
			if hasAny("'[INST] '", `"[INST] "`) {
				return preset("mistral-v7"), nil
			}
			t := preset("mistral-v7-tekken")
			t.sysDated = datedDefault(tmpl)
			return t, nil
		case has("<<SYS>>"):
			return preset("llama2"), nil
		case hasAny("' [INST] '", `" [INST] "`):
			return preset("mistral-v1"), nil
		case hasAny("'[INST]'", `"[INST]"`):
			return preset("mistral-v3-tekken"), nil
		case hasAny("' [/INST]'", `" [/INST]"`):
			return preset("mistral"), nil
		case hasAny("'[INST] '", `"[INST] "`):
			return preset("mistral-v3"), nil
		}

	case has("<|start_header_id|>", "<|end_header_id|>"):
		if !has("Cutting Knowledge Date") {
			return preset("llama3"), nil
		}
		if has("strftime_now") {
			return preset("llama3.2"), nil
		}
		t := preset("llama3.1")
		if d := quotedAfter(tmpl, "date_string = "); d != "" {
			t.date = d
		}
		return t, nil

	case has("<start_of_turn>"):
		return preset("gemma"), nil

	case has("<|START_OF_TURN_TOKEN|>", "<|USER_TOKEN|>"):
		if hasAny("<|START_RESPONSE|>", "<|START_THINKING|>") { // Command R7B / A: a different format
			return Template{}, unrecognised(tmpl)
		}
		return preset("command-r"), nil

	case has("<|assistant|>", "<|end|>"):
		switch {
		case has("<|system|>", "<|user|>"):
			t := preset("phi3.5")
			t.emptySys = !has("and message['content']")
			return t, nil
		case has("<|user|>"):
			return preset("phi3"), nil
		case has("'<|' + message['role'] + '|>' + message['content']"):
			return preset("phi4-mini"), nil
		}

	case has("<|user|>", "<|assistant|>", "eos_token"):
		return preset("zephyr"), nil
	}
	return Template{}, unrecognised(tmpl)
}

func unrecognised(tmpl string) error {
	start := tmpl
	const limit = 48
	if len(start) > limit {
		n := limit
		for n > 0 && !utf8.RuneStart(start[n]) {
			n--
		}
		start = start[:n] + "…"
	}
	return fmt.Errorf("%w (starts %q); set chat_template to one of: %s", ErrUnrecognised, start, namesList())
}

// hasLiteral reports whether s occurs in a string literal of the template,
// where newlines may be written raw or as \n.
func hasLiteral(tmpl, s string) bool {
	return strings.Contains(tmpl, s) || strings.Contains(tmpl, strings.ReplaceAll(s, "\n", `\n`))
}

// quotedAfter returns the string literal right after key, or "".
func quotedAfter(tmpl, key string) string {
	_, rest, ok := strings.Cut(tmpl, key)
	rest = strings.TrimLeft(rest, " ")
	if !ok || rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	lit, _, ok := pyLiteral(rest)
	if !ok {
		return ""
	}
	return lit
}

// chatMLDefaultSystem finds the default system prompt of a ChatML template:
// the one string literal that is a whole system turn,
// "<|im_start|>system\n…<|im_end|>\n".
func chatMLDefaultSystem(tmpl string) string {
	const pre, suf = "<|im_start|>system\n", "<|im_end|>\n"
	for _, lit := range tagLiterals(tmpl) {
		if len(lit) > len(pre)+len(suf) && strings.HasPrefix(lit, pre) && strings.HasSuffix(lit, suf) {
			body := lit[len(pre) : len(lit)-len(suf)]
			if !strings.Contains(body, "<|im_start|>") && !strings.Contains(body, "<|im_end|>") {
				return body
			}
		}
	}
	return ""
}

// datedDefault reads Mistral Small 3.1's default system prompt,
// "…" + today + "…" with today = strftime_now("%Y-%m-%d"), as the pieces
// between which the date goes. It returns nil for any other shape.
func datedDefault(tmpl string) []string {
	if !strings.Contains(tmpl, `set today = strftime_now("%Y-%m-%d")`) {
		return nil
	}
	_, rest, ok := strings.Cut(tmpl, "set default_system_message = ")
	if !ok {
		return nil
	}
	pieces := []string{""}
	for {
		rest = strings.TrimLeft(rest, " \n")
		switch {
		case strings.HasPrefix(rest, "today"):
			pieces = append(pieces, "")
			rest = rest[len("today"):]
		case rest != "" && (rest[0] == '"' || rest[0] == '\''):
			lit, n, ok := pyLiteral(rest)
			if !ok {
				return nil
			}
			pieces[len(pieces)-1] += lit
			rest = rest[n:]
		default:
			return nil
		}
		rest = strings.TrimLeft(rest, " \n")
		switch {
		case strings.HasPrefix(rest, "+"):
			rest = rest[1:]
		case strings.HasPrefix(rest, "%}"), strings.HasPrefix(rest, "-%}"):
			return pieces
		default:
			return nil
		}
	}
}

// tagLiterals returns the string literals inside the template's {{ }} and
// {% %} tags, unescaped.
func tagLiterals(tmpl string) []string {
	var out []string
	for {
		i := strings.Index(tmpl, "{{")
		j := strings.Index(tmpl, "{%")
		if i < 0 || (j >= 0 && j < i) {
			i = j
		}
		if i < 0 {
			return out
		}
		end := "}}"
		if tmpl[i+1] == '%' {
			end = "%}"
		}
		lits, n := tagScan(tmpl[i+2:], end)
		out = append(out, lits...)
		tmpl = tmpl[i+2+n:]
	}
}

// tagScan reads code up to the tag's close, collecting string literals; it
// returns them and the bytes consumed.
func tagScan(code, end string) ([]string, int) {
	var lits []string
	i := 0
	for i < len(code) {
		if strings.HasPrefix(code[i:], end) {
			return lits, i + len(end)
		}
		c := code[i]
		if c != '\'' && c != '"' {
			i++
			continue
		}
		lit, n, ok := pyLiteral(code[i:])
		if !ok {
			return lits, len(code)
		}
		lits = append(lits, lit)
		i += n
	}
	return lits, i
}

// pyLiteral decodes the quoted literal at the start of s as Jinja does
// (Python escapes; a backslash before a newline joins the lines).
func pyLiteral(s string) (string, int, bool) {
	q := s[0]
	var sb strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return sb.String(), i + 1, true
		case c == '\\' && i+1 < len(s):
			i++
			switch e := s[i]; e {
			case 'n':
				sb.WriteByte('\n')
			case 't':
				sb.WriteByte('\t')
			case 'r':
				sb.WriteByte('\r')
			case '\n':
			case '\\', '\'', '"':
				sb.WriteByte(e)
			case 'a':
				sb.WriteByte('\a')
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'v':
				sb.WriteByte('\v')
			case 'x', 'u', 'U':
				n := 2
				switch e {
				case 'u':
					n = 4
				case 'U':
					n = 8
				}
				if i+1+n > len(s) {
					return "", len(s), false // Python rejects a short escape
				}
				v, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
				if err != nil || v > utf8.MaxRune {
					return "", len(s), false
				}
				sb.WriteRune(rune(v))
				i += n
			case '0', '1', '2', '3', '4', '5', '6', '7':
				v, j := 0, i
				for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
					v = v*8 + int(s[j]-'0')
					j++
				}
				sb.WriteRune(rune(v))
				i = j - 1
			default:
				sb.WriteByte('\\')
				sb.WriteByte(e)
			}
		default:
			sb.WriteByte(c)
		}
	}
	return "", len(s), false
}
