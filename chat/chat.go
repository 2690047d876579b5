// Package chat renders chat messages into a model's prompt text without a
// Jinja engine. A GGUF file carries its chat template as Jinja source in
// tokenizer.chat_template; Detect recognises which published template family
// that source is and returns a Template whose Render produces what the
// template produces under Hugging Face transformers' apply_chat_template
// (trim_blocks, lstrip_blocks; no tools, no enable_thinking or other extra
// variables). Templates that read the date (Llama 3.2, Mistral Small 3.1)
// get the local clock at Render.
//
// # BOS
//
// Render never includes the leading BOS token text, so that BOS reaches the
// model as a token id and not as text to parse. BOS reports whether the
// template starts with {{ bos_token }}; the caller then puts the BOS id
// first, either through the tokenizer's add-BOS option
// (tokenizer.ggml.add_bos_token, llama.cpp's convention) or by prepending it
// itself, never both (a double BOS). For templates without a leading BOS
// (ChatML, Zephyr, Phi-3.5, Phi-4) Hugging Face's prompt has none, though
// llama.cpp adds one when the vocabulary asks for it. A BOS a template
// writes later in the prompt (Llama 2's later turns) is rendered, as a
// special Part.
//
// # Special tokens in content
//
// Message content is data, never markup: a user who writes "<|im_end|>"
// must not end their turn. The server therefore tokenizes content without
// parsing special tokens, and RenderParts returns the prompt as Parts that
// say which text is the template's (Special: parse special tokens) and
// which is content (not Special). Render is their concatenation, for
// display and for backends that take text.
//
// # Deviations from the Jinja source
//
// Where a template raises an exception (roles that do not alternate, a role
// it does not support) Render returns an error wrapping ErrConversation.
// Where a template has no system role, a leading system message is folded
// into the first user turn instead of failing or vanishing: "mistral" joins
// it with "\n\n" (as mistral-common does), "gemma" as Gemma 3 does (Gemma 1
// and 2 raise), "phi3" with "\n" (llama.cpp's fallback; the template drops
// it). Otherwise roles a template ignores are dropped as it drops them. An
// empty message list is an error for every family.
package chat

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tandem-llm/tandem/backend"
	"github.com/tandem-llm/tandem/gguf"
)

// ErrNoTemplate is wrapped by the error for a model without a chat template.
var ErrNoTemplate = errors.New("chat: model has no chat template (tokenizer.chat_template)")

// ErrUnrecognised is wrapped by the error for a template Detect does not know.
var ErrUnrecognised = errors.New("chat: unrecognised chat template")

// ErrConversation is wrapped by Render's errors for message lists the
// family's template rejects.
var ErrConversation = errors.New("chat: conversation not accepted by the chat template")

// Part is a piece of a rendered prompt. Special parts are template text:
// the tokenizer should recognise special-token texts in them. Other parts are
// message content (and role names) and must be tokenized without parsing
// specials. Adjacent parts are never both Special or both not.
//
// Tokenize the prompt as a whole, not part by part: split out the special
// tokens found in Special parts, then run the ordinary tokenizer over each
// maximal run of remaining text, even where it spans several parts. Cutting
// at every part boundary would change tokens wherever template text and
// content meet inside a word or a run of spaces (SentencePiece's "▁",
// BPE merges of "\n\n").
type Part struct {
	Text    string
	Special bool
}

// Template renders chats for one template family. The zero value is not
// usable: get one from Detect, ByName or FromGGUF.
type Template struct {
	name string
	kind kind

	system    string   // ChatML: default system prompt when the first message is not one
	sysDated  []string // Mistral v7 Tekken: default system prompt, split where today's date goes
	qwenTools bool     // ChatML: Qwen2.5's handling of tool and unknown roles
	thinkGen  bool     // Qwen3: generation prompt opens a <think> block
	emptySys  bool     // Phi-3.5: render empty system messages too
	legacy    bool     // Phi-4: original template, which ignores add_generation_prompt

	bos, eos string // token texts for templates that write bos_token / eos_token

	date string           // Llama 3.1: "Today Date"; empty means now (Llama 3.2)
	now  func() time.Time // clock for dates the template takes from strftime_now; nil means time.Now
}

func (t Template) clock() time.Time {
	if t.now != nil {
		return t.now()
	}
	return time.Now()
}

type kind int

const (
	kChatML kind = iota + 1
	kQwen3
	kLlama3
	kLlama31
	kLlama2
	kMistral
	kMistralV1
	kMistralV3
	kMistralV3Tekken
	kMistralV7
	kMistralV7Tekken
	kGemma
	kGemma4
	kPhi3
	kPhi35
	kPhi4
	kPhi4Mini
	kZephyr
	kCommandR
)

// Default system prompts of ChatML-based families, as their templates write them.
const (
	qwen2System  = "You are a helpful assistant"
	qwen25System = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
	smollmSystem = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
)

// presets lists the named families in the order Names reports them. A
// function rather than a variable so the table cannot be changed.
func presets() []Template {
	return []Template{
		// ChatML without a default system prompt (OpenHermes, SmolLM v1, …).
		{name: "chatml", kind: kChatML},
		// Qwen1.5/Qwen2: ChatML, default system prompt before a first non-system message.
		{name: "qwen2", kind: kChatML, system: qwen2System},
		// Qwen2.5: as qwen2 with its own default; tool messages become <tool_response>
		// blocks in a user turn, and roles other than system/user/assistant/tool are dropped.
		{name: "qwen2.5", kind: kChatML, system: qwen25System, qwenTools: true},
		// Qwen3: no default system prompt; <think> blocks after the last user query.
		{name: "qwen3", kind: kQwen3},
		// SmolLM2: ChatML with its default system prompt.
		{name: "smollm", kind: kChatML, system: smollmSystem},
		// Llama 3 / 3.0: any role as a header; content trimmed.
		{name: "llama3", kind: kLlama3},
		// Llama 3.1 and 3.3: a system header with the knowledge cutoff and a fixed date;
		// tool messages become ipython turns with JSON-quoted content.
		{name: "llama3.1", kind: kLlama31, date: "26 Jul 2024"},
		// Llama 3.2: as llama3.1 with today's date.
		{name: "llama3.2", kind: kLlama31},
		// Llama 2 chat: system folded into the first user turn as <<SYS>>.
		{name: "llama2", kind: kLlama2, bos: "<s>", eos: "</s>"},
		// Mistral-7B-Instruct v0.1/v0.2 and Mixtral as first released: "[INST] … [/INST]".
		// No system role: a leading system message is folded into the first user turn with "\n\n".
		{name: "mistral", kind: kMistral, eos: "</s>"},
		// Mistral tokenizer v1 template with system support (later v0.1/v0.2 repos).
		{name: "mistral-v1", kind: kMistralV1, eos: "</s>"},
		// Mistral v3 (7B v0.3, Mixtral 8x22B, Large 2407): system prepended to the last user turn.
		{name: "mistral-v3", kind: kMistralV3, eos: "</s>"},
		// Mistral v3 Tekken (Nemo, Ministral): as v3 without spaces.
		{name: "mistral-v3-tekken", kind: kMistralV3Tekken, eos: "</s>"},
		// Mistral v7 (Large 2411): [SYSTEM_PROMPT] turns.
		{name: "mistral-v7", kind: kMistralV7, eos: "</s>"},
		// Mistral v7 Tekken (Small 3.x): a leading [SYSTEM_PROMPT], then alternating
		// turns without spaces. Detect picks up a template's dated default system prompt.
		{name: "mistral-v7-tekken", kind: kMistralV7Tekken, eos: "</s>"},
		// Gemma 1/2/3: "model" for assistant; a leading system message is prepended to
		// the first user turn with "\n\n" (Gemma 3's template; Gemma 1/2 reject it).
		{name: "gemma", kind: kGemma},
		// Gemma 4: <|turn>…<turn|>, native system turn, thinking stripped from history.
		{name: "gemma4", kind: kGemma4},
		// Phi-3 mini (original template): only user and assistant; the assistant
		// header follows every user turn; a leading system message is prepended to
		// the first user turn with "\n" (llama.cpp's polyfill; the template drops it).
		{name: "phi3", kind: kPhi3},
		// Phi-3.5 mini (and Phi-3 mini as updated): <|system|> turns; EOS closes
		// the prompt when no generation prompt is asked for.
		{name: "phi3.5", kind: kPhi35, eos: "<|endoftext|>"},
		// Phi-4: ChatML with <|im_sep|>.
		{name: "phi4", kind: kPhi4},
		// Phi-4 mini: "<|role|>content<|end|>" for any role; EOS closes the
		// prompt when no generation prompt is asked for.
		{name: "phi4-mini", kind: kPhi4Mini, eos: "<|endoftext|>"},
		// Zephyr (also TinyLlama chat, StableLM Zephyr): "<|user|>\n…</s>\n".
		{name: "zephyr", kind: kZephyr, eos: "</s>"},
		// Command-R / R+: <|START_OF_TURN_TOKEN|> turns.
		{name: "command-r", kind: kCommandR},
	}
}

// Names lists the family names ByName accepts.
func Names() []string {
	ps := presets()
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.name
	}
	return names
}

func namesList() string { return strings.Join(Names(), ", ") }

// preset returns the named preset; names are checked by the tests.
func preset(name string) Template {
	for _, p := range presets() {
		if p.name == name {
			return p
		}
	}
	return Template{}
}

// ByName returns the named family's template, for a configured override of
// the model's own. Names are matched case-insensitively.
func ByName(name string) (Template, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, p := range presets() {
		if p.name == n {
			return p, nil
		}
	}
	return Template{}, fmt.Errorf("chat: unknown chat template name %q; want one of: %s", name, namesList())
}

// FromGGUF detects the chat template of a GGUF file, taking the BOS and EOS
// token texts that templates write from the file's vocabulary (as llama.cpp
// does). Without tokenizer.chat_template the error wraps ErrNoTemplate.
func FromGGUF(f *gguf.File) (Template, error) {
	src, _ := f.String("tokenizer.chat_template")
	t, err := Detect(src)
	if err != nil {
		return Template{}, err
	}
	tokens, _ := f.Strings("tokenizer.ggml.tokens")
	text := func(key string) string {
		id, ok := f.Uint(key)
		if !ok || id >= uint64(len(tokens)) {
			return ""
		}
		return tokens[id]
	}
	if s := text("tokenizer.ggml.bos_token_id"); s != "" && t.bos != "" {
		t.bos = s
	}
	if s := text("tokenizer.ggml.eos_token_id"); s != "" && t.eos != "" {
		t.eos = s
	}
	return t, nil
}

// Name is the template's family name, one of Names. Detect may refine a
// family with details read from the template (a ChatML default system
// prompt, Llama 3.1's date), which ByName(Name()) does not carry.
func (t Template) Name() string { return t.name }

// BOS reports whether the family's template starts with the BOS token,
// which Render leaves out for the tokenizer to add.
func (t Template) BOS() bool {
	switch t.kind {
	case kLlama3, kLlama31, kLlama2, kMistral, kMistralV1, kMistralV3, kMistralV3Tekken,
		kMistralV7, kMistralV7Tekken, kGemma, kGemma4, kPhi3, kCommandR:
		return true
	}
	return false
}

// Stop returns the texts that end an assistant turn, for stop-string
// matching when the generated special tokens are rendered as text.
func (t Template) Stop() []string {
	switch t.kind {
	case kChatML, kQwen3, kPhi4:
		return []string{"<|im_end|>"}
	case kLlama3:
		return []string{"<|eot_id|>"}
	case kLlama31:
		return []string{"<|eot_id|>", "<|eom_id|>"}
	case kGemma:
		return []string{"<end_of_turn>"}
	case kGemma4:
		return []string{"<turn|>"}
	case kPhi3, kPhi35, kPhi4Mini:
		return []string{"<|end|>", "<|endoftext|>"}
	case kCommandR:
		return []string{"<|END_OF_TURN_TOKEN|>"}
	case kLlama2, kMistral, kMistralV1, kMistralV3, kMistralV3Tekken, kMistralV7, kMistralV7Tekken, kZephyr:
		return []string{t.eos}
	}
	return nil
}

// Render returns the prompt for msgs; with addGenerationPrompt it ends with
// the header of an assistant turn. See RenderParts.
func (t Template) Render(msgs []backend.Message, addGenerationPrompt bool) (string, error) {
	parts, err := t.RenderParts(msgs, addGenerationPrompt)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for _, p := range parts {
		sb.WriteString(p.Text)
	}
	return sb.String(), nil
}

// RenderParts returns the prompt for msgs as template text and message
// content; see Part.
func (t Template) RenderParts(msgs []backend.Message, addGenerationPrompt bool) ([]Part, error) {
	if t.kind == 0 {
		return nil, errors.New("chat: zero Template (use Detect, ByName or FromGGUF)")
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%w: no messages", ErrConversation)
	}
	b := &builder{}
	if err := t.render(b, msgs, addGenerationPrompt); err != nil {
		return nil, err
	}
	return b.parts, nil
}

// builder collects parts, merging neighbours of the same kind.
type builder struct{ parts []Part }

func (b *builder) add(s string, special bool) {
	if s == "" {
		return
	}
	if n := len(b.parts); n > 0 && b.parts[n-1].Special == special {
		b.parts[n-1].Text += s
		return
	}
	b.parts = append(b.parts, Part{Text: s, Special: special})
}

// tmpl adds template text, text adds message content.
func (b *builder) tmpl(s string) { b.add(s, true) }
func (b *builder) text(s string) { b.add(s, false) }
