package chat

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tandem-llm/tandem/backend"
	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/internal/testdata"
)

// TestDetectFixtures detects the published templates in testdata/templates
// (see the README there for their sources).
func TestDetectFixtures(t *testing.T) {
	tests := map[string]struct {
		name  string
		check func(Template) bool
	}{
		"openhermes-2.5-chatml.jinja":               {"chatml", func(t Template) bool { return t.system == "" }},
		"qwen1.5-chat.jinja":                        {"qwen2", func(t Template) bool { return t.system == "You are a helpful assistant." }},
		"qwen2.5-instruct.jinja":                    {"qwen2.5", func(t Template) bool { return t.system == qwen25System && t.qwenTools }},
		"qwen3.jinja":                               {"qwen3", func(t Template) bool { return !t.thinkGen }},
		"smollm2-instruct.jinja":                    {"smollm", func(t Template) bool { return t.system == smollmSystem }},
		"meta-llama-3-8b-instruct.jinja":            {"llama3", nil},
		"llama-3.1-8b-instruct.jinja":               {"llama3.1", func(t Template) bool { return t.date == "26 Jul 2024" }},
		"llama-3.2-1b-instruct.jinja":               {"llama3.2", func(t Template) bool { return t.date == "" }},
		"llama-2-7b-chat.jinja":                     {"llama2", nil},
		"mixtral-8x7b-instruct-v0.1-original.jinja": {"mistral", nil},
		"mistral-7b-instruct-v0.2-v1.jinja":         {"mistral-v1", nil},
		"mistral-7b-instruct-v0.3.jinja":            {"mistral-v3", nil},
		"mistral-nemo-instruct-2407.jinja":          {"mistral-v3-tekken", nil},
		"mistral-large-instruct-2411.jinja":         {"mistral-v7", nil},
		"mistral-small-3.1-24b-instruct-2503.jinja": {"mistral-v7-tekken", func(t Template) bool {
			return len(t.sysDated) == 2 && strings.HasSuffix(t.sysDated[0], "The current date is ")
		}},
		"gemma-2-it.jinja":                     {"gemma", nil},
		"gemma-3-it.jinja":                     {"gemma", nil},
		"phi-3.5-mini-instruct.jinja":          {"phi3.5", func(t Template) bool { return !t.emptySys }},
		"phi-3-mini-4k-instruct-updated.jinja": {"phi3.5", func(t Template) bool { return t.emptySys }},
		"phi-4.jinja":                          {"phi4", func(t Template) bool { return !t.legacy }},
		"phi-4-original.jinja":                 {"phi4", func(t Template) bool { return t.legacy }},
		"phi-4-mini-instruct.jinja":            {"phi4-mini", nil},
		"zephyr-7b-beta.jinja":                 {"zephyr", nil},
	}
	files, err := filepath.Glob("testdata/templates/*.jinja")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("%d fixture files, %d expectations", len(files), len(tests))
	}
	for _, f := range files {
		want, ok := tests[filepath.Base(f)]
		if !ok {
			t.Errorf("%s: no expectation", f)
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tm, err := Detect(string(src))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if tm.Name() != want.name || (want.check != nil && !want.check(tm)) {
			t.Errorf("%s: detected %s %+v, want %s", filepath.Base(f), tm.Name(), tm, want.name)
		}
	}
}

// TestDetectShared detects the chat templates of llama.cpp's vocab files.
func TestDetectShared(t *testing.T) {
	for file, want := range map[string]string{
		"ggml-vocab-qwen2.gguf":     "qwen2",
		"ggml-vocab-qwen35.gguf":    "qwen2",
		"ggml-vocab-phi-3.gguf":     "phi3",
		"ggml-vocab-gemma-4.gguf":   "gemma4",
		"ggml-vocab-command-r.gguf": "command-r",
	} {
		t.Run(file, func(t *testing.T) {
			f, err := gguf.Open(testdata.SharedFile(t, filepath.Join("tokenizer", file)))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tm, err := FromGGUF(f)
			if err != nil {
				t.Fatal(err)
			}
			if tm.Name() != want {
				t.Errorf("detected %s, want %s", tm.Name(), want)
			}
			if want == "qwen2" && tm.system != qwen2System {
				t.Errorf("default system prompt %q", tm.system)
			}
		})
	}
	// Vocab files and models without a chat template.
	for _, rel := range []string{"tokenizer/ggml-vocab-llama-spm.gguf", "models/stories260K/stories260K.gguf", "models/parity/synth-qwen2.gguf"} {
		t.Run(rel, func(t *testing.T) {
			f, err := gguf.Open(testdata.SharedFile(t, rel))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			_, err = FromGGUF(f)
			if !errors.Is(err, ErrNoTemplate) || !strings.Contains(err.Error(), "set chat_template to one of: chatml") {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// TestDetectMarkers covers, without ../shared, the families whose real
// templates the tests otherwise read from there.
func TestDetectMarkers(t *testing.T) {
	for src, want := range map[string]string{
		"{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') %}{{'<|user|>' + '\n' + message['content'] + '<|end|>' + '\n' + '<|assistant|>' + '\n'}}{% elif (message['role'] == 'assistant') %}{{message['content'] + '<|end|>' + '\n'}}{% endif %}{% endfor %}": "phi3",
		"{{ '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>' + content.strip() + '<|END_OF_TURN_TOKEN|>' }}": "command-r",
		"{{- '<|turn>' + role + '\n' }}{{- '<turn|>\n' -}}":                                         "gemma4",
		"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant<|im_end|>\n' }}{% endif %}": "qwen2",
		"{{- '<|im_start|>assistant\n<think>\n' }}{%- set ns = namespace(last_query_index=0) %}": "qwen3",
	} {
		tm, err := Detect(src)
		if err != nil || tm.Name() != want {
			t.Errorf("Detect(%.40q) = %s, %v; want %s", src, tm.Name(), err, want)
		}
		if want == "qwen3" && !tm.thinkGen {
			t.Error("qwen3 thinking generation prompt not detected")
		}
	}
	for _, name := range Names() {
		if preset(name).kind == 0 {
			t.Errorf("preset(%q) is zero", name)
		}
	}
}

func TestDetectErrors(t *testing.T) {
	for _, src := range []string{"", " \n"} {
		_, err := Detect(src)
		if !errors.Is(err, ErrNoTemplate) || !strings.Contains(err.Error(), "chatml, qwen2") {
			t.Errorf("Detect(%q) err = %v", src, err)
		}
	}
	unknown := map[string]string{
		// eachadea/vicuna-13b-1.1
		"vicuna": "{%- for message in messages %}{%- if message['role'] == 'system' -%}{{- '' + message['content'] + '\n\n' -}}{%- else -%}{%- if message['role'] == 'user' -%}{{-'USER: ' + message['content'] + '\n'-}}{%- else -%}{{-'ASSISTANT: ' + message['content'] + '</s>\n' -}}{%- endif -%}{%- endif -%}{%- endfor -%}{%- if add_generation_prompt -%}{{-'ASSISTANT:'-}}{%- endif -%}",
		// DeepSeek-V2
		"deepseek2": "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\n\n' }}{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' + message['content'] + eos_token }}{% elif message['role'] == 'system' %}{{ message['content'] + '\n\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}",
		// SmolVLM: <|im_start|> is its BOS, the turns are not ChatML
		"smolvlm": "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}",
		// Command R7B's format
		"command-r7b": "{{ bos_token }}<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>…<|END_OF_TURN_TOKEN|>{% for message in messages %}<|START_OF_TURN_TOKEN|><|USER_TOKEN|>{{ message.content }}<|END_OF_TURN_TOKEN|>{% endfor %}<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|><|START_RESPONSE|>",
		"non-ascii":   strings.Repeat("日本語", 30),
		// Qwen/QwQ-32B: ChatML with its own reasoning handling
		"qwq": "{%- for message in messages %}{%- if message.role == 'assistant' %}{%- set content = message.content.split('</think>')[-1].lstrip('\n') %}{{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>\n' }}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n<think>\n' }}{%- endif %}",
	}
	for name, src := range unknown {
		_, err := Detect(src)
		if !errors.Is(err, ErrUnrecognised) {
			t.Errorf("%s: err = %v", name, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, `(starts "`) || !strings.Contains(msg, "set chat_template to one of: chatml,") || !strings.Contains(msg, "zephyr") {
			t.Errorf("%s: message %q", name, msg)
		}
		if !strings.Contains(msg, "…\")") {
			t.Errorf("%s: start not cut short: %q", name, msg)
		}
	}
	// A family name in place of a template, as llama.cpp accepts.
	if tm, err := Detect("gemma"); err != nil || tm.Name() != "gemma" {
		t.Errorf("Detect(gemma) = %s, %v", tm.Name(), err)
	}
}

// TestFromGGUF takes the BOS and EOS texts a template writes from the
// model's vocabulary: TinyLlama and StableLM Zephyr use Zephyr's template
// with different EOS tokens.
func TestFromGGUF(t *testing.T) {
	src, err := os.ReadFile("testdata/templates/zephyr-7b-beta.jinja")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := gguf.NewWriter(&buf, []gguf.KV{
		{Key: "general.architecture", Value: "stablelm"},
		{Key: "tokenizer.ggml.tokens", Value: []string{"<|endoftext|>", "<|user|>", "x"}},
		{Key: "tokenizer.ggml.bos_token_id", Value: uint32(0)},
		{Key: "tokenizer.ggml.eos_token_id", Value: uint32(0)},
		{Key: "tokenizer.chat_template", Value: string(src)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	tm, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tm.Render([]backend.Message{{Role: "user", Content: "Hi"}}, true)
	if want := "<|user|>\nHi<|endoftext|>\n<|assistant|>\n"; err != nil || got != want {
		t.Errorf("Render = %q, %v; want %q", got, err, want)
	}
	if !slices.Equal(tm.Stop(), []string{"<|endoftext|>"}) {
		t.Errorf("Stop() = %q", tm.Stop())
	}
}

func TestLiterals(t *testing.T) {
	src := `{{ 'a\nb' + "c\"d" }}{% set x = 'e\\f\x41\u00e9\101\
g' %} 'outside' {{ "\U0001F642" }}`
	want := []string{"a\nb", `c"d`, "e\\fAéAg", "🙂"}
	if got := tagLiterals(src); !slices.Equal(got, want) {
		t.Errorf("tagLiterals = %q, want %q", got, want)
	}
	if got := quotedAfter(`{%- set date_string = "1 Jan 2000" %}`, "date_string = "); got != "1 Jan 2000" {
		t.Errorf("quotedAfter = %q", got)
	}
}
