package chat

import (
	"fmt"
	"strings"

	"github.com/tandem-llm/tandem/backend"
)

// render writes msgs (non-empty) in t's family format. Each case follows
// its published Jinja template line by line; comments note the template's
// own quirks that are reproduced on purpose.
func (t Template) render(b *builder, msgs []backend.Message, gen bool) error {
	switch t.kind {
	case kChatML:
		t.chatML(b, msgs, gen)
	case kQwen3:
		t.qwen3(b, msgs, gen)
	case kLlama3:
		for _, m := range msgs {
			llama3Turn(b, m.Role, pyStrip(m.Content))
		}
		if gen {
			b.tmpl("<|start_header_id|>assistant<|end_header_id|>\n\n")
		}
	case kLlama31:
		t.llama31(b, msgs, gen)
	case kLlama2:
		return t.llama2(b, msgs)
	case kMistral, kMistralV1:
		return t.mistralV1(b, msgs)
	case kMistralV3, kMistralV3Tekken:
		return t.mistralV3(b, msgs)
	case kMistralV7:
		return t.mistralV7(b, msgs)
	case kMistralV7Tekken:
		return t.mistralV7Tekken(b, msgs)
	case kGemma:
		return t.gemma(b, msgs, gen)
	case kGemma4:
		gemma4(b, msgs, gen)
	case kPhi3:
		phi3(b, msgs)
	case kPhi35:
		t.phi35(b, msgs, gen)
	case kPhi4:
		t.phi4(b, msgs, gen)
	case kPhi4Mini:
		for _, m := range msgs {
			b.tmpl("<|")
			b.text(m.Role)
			b.tmpl("|>")
			b.text(m.Content)
			b.tmpl("<|end|>")
		}
		if gen {
			b.tmpl("<|assistant|>")
		} else {
			b.tmpl(t.eos)
		}
	case kZephyr:
		t.zephyr(b, msgs, gen)
	case kCommandR:
		return t.commandR(b, msgs, gen)
	default:
		return fmt.Errorf("chat: template family %d not implemented", t.kind)
	}
	return nil
}

func (t Template) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrConversation, t.name, fmt.Sprintf(format, args...))
}

// alternate is the templates' check that roles go user, assistant, user, …
// (other roles pass only where an assistant is expected, as in Jinja).
func (t Template) alternate(msgs []backend.Message, offset int) error {
	for i, m := range msgs {
		if (m.Role == "user") != (i%2 == 0) {
			return t.errorf("roles must alternate user/assistant/user/… after an optional system message (message %d is %q)", i+offset, m.Role)
		}
	}
	return nil
}

// leadingSystem splits off a first system message.
func leadingSystem(msgs []backend.Message) (sys string, ok bool, rest []backend.Message) {
	if msgs[0].Role == "system" {
		return msgs[0].Content, true, msgs[1:]
	}
	return "", false, msgs
}

func chatMLTurn(b *builder, role, content string) {
	b.tmpl("<|im_start|>")
	b.text(role)
	b.tmpl("\n")
	b.text(content)
	b.tmpl("<|im_end|>\n")
}

// qwenTool writes a tool message as Qwen2.5 and Qwen3 do: consecutive tool
// messages share one user turn.
func qwenTool(b *builder, msgs []backend.Message, i int) {
	if i == 0 || msgs[i-1].Role != "tool" {
		b.tmpl("<|im_start|>user")
	}
	b.tmpl("\n<tool_response>\n")
	b.text(msgs[i].Content)
	b.tmpl("\n</tool_response>")
	if i == len(msgs)-1 || msgs[i+1].Role != "tool" {
		b.tmpl("<|im_end|>\n")
	}
}

func (t Template) chatML(b *builder, msgs []backend.Message, gen bool) {
	if t.system != "" && msgs[0].Role != "system" {
		b.tmpl("<|im_start|>system\n" + t.system + "<|im_end|>\n")
	}
	for i, m := range msgs {
		if !t.qwenTools {
			chatMLTurn(b, m.Role, m.Content)
			continue
		}
		switch m.Role {
		case "system", "user", "assistant":
			chatMLTurn(b, m.Role, m.Content)
		case "tool":
			qwenTool(b, msgs, i)
		}
	}
	if gen {
		b.tmpl("<|im_start|>assistant\n")
	}
}

func (t Template) qwen3(b *builder, msgs []backend.Message, gen bool) {
	if msgs[0].Role == "system" {
		chatMLTurn(b, "system", msgs[0].Content)
	}
	// The last user message that is not a wrapped tool response.
	lastQuery := len(msgs) - 1
	for i := len(msgs) - 1; i >= 0; i-- {
		c := msgs[i].Content
		if msgs[i].Role == "user" && !(strings.HasPrefix(c, "<tool_response>") && strings.HasSuffix(c, "</tool_response>")) {
			lastQuery = i
			break
		}
	}
	for i, m := range msgs {
		switch {
		case m.Role == "user" || (m.Role == "system" && i > 0):
			chatMLTurn(b, m.Role, m.Content)
		case m.Role == "assistant":
			content, reasoning := m.Content, ""
			if strings.Contains(content, "</think>") {
				parts := strings.Split(content, "</think>")
				r := strings.TrimRight(parts[0], "\n")
				rs := strings.Split(r, "<think>")
				reasoning = strings.TrimLeft(rs[len(rs)-1], "\n")
				content = strings.TrimLeft(parts[len(parts)-1], "\n")
			}
			b.tmpl("<|im_start|>")
			b.text(m.Role)
			if i > lastQuery && (i == len(msgs)-1 || reasoning != "") {
				b.tmpl("\n<think>\n")
				b.text(strings.Trim(reasoning, "\n"))
				b.tmpl("\n</think>\n\n")
				b.text(strings.TrimLeft(content, "\n"))
			} else {
				b.tmpl("\n")
				b.text(content)
			}
			b.tmpl("<|im_end|>\n")
		case m.Role == "tool":
			qwenTool(b, msgs, i)
		}
	}
	if gen {
		b.tmpl("<|im_start|>assistant\n")
		if t.thinkGen {
			b.tmpl("<think>\n")
		}
	}
}

func llama3Turn(b *builder, role, content string) {
	b.tmpl("<|start_header_id|>")
	b.text(role)
	b.tmpl("<|end_header_id|>\n\n")
	b.text(content)
	b.tmpl("<|eot_id|>")
}

func (t Template) llama31(b *builder, msgs []backend.Message, gen bool) {
	sys, _, rest := leadingSystem(msgs)
	date := t.date
	if date == "" {
		date = t.clock().Format("02 Jan 2006") // strftime_now("%d %b %Y")
	}
	b.tmpl("<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: " + date + "\n\n")
	b.text(pyStrip(sys))
	b.tmpl("<|eot_id|>")
	for _, m := range rest {
		if m.Role == "tool" || m.Role == "ipython" {
			// A string is iterable in Jinja, so the template's tojson branch
			// quotes it.
			b.tmpl("<|start_header_id|>ipython<|end_header_id|>\n\n")
			b.text(pyJSONString(m.Content))
			b.tmpl("<|eot_id|>")
			continue
		}
		llama3Turn(b, m.Role, pyStrip(m.Content))
	}
	if gen {
		b.tmpl("<|start_header_id|>assistant<|end_header_id|>\n\n")
	}
}

// llama2 is meta-llama/Llama-2-*-chat-hf's template. add_generation_prompt
// has no effect: a prompt ending in a user turn already ends with [/INST].
func (t Template) llama2(b *builder, msgs []backend.Message) error {
	sys, hasSys, loop := leadingSystem(msgs)
	if err := t.alternate(loop, len(msgs)-len(loop)); err != nil {
		return err
	}
	for i, m := range loop {
		switch m.Role {
		case "user":
			if i > 0 {
				b.tmpl(t.bos) // the first BOS is the one the tokenizer adds
			}
			b.tmpl("[INST] ")
			if i == 0 && hasSys {
				// strip() applies to "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content.
				b.tmpl("<<SYS>>\n")
				b.text(sys)
				if u := pyRStrip(m.Content); u != "" {
					b.tmpl("\n<</SYS>>\n\n")
					b.text(u)
				} else {
					b.tmpl("\n<</SYS>>")
				}
			} else {
				b.text(pyStrip(m.Content))
			}
			b.tmpl(" [/INST]")
		case "assistant":
			b.tmpl(" ")
			b.text(pyStrip(m.Content))
			b.tmpl(" " + t.eos)
		}
	}
	return nil
}

// mistralV1 covers the original Mistral template ("[INST] c [/INST]",
// kMistral) and the v1 template with a system message (" [INST] c [/INST]").
func (t Template) mistralV1(b *builder, msgs []backend.Message) error {
	sys, hasSys, loop := leadingSystem(msgs)
	if err := t.alternate(loop, len(msgs)-len(loop)); err != nil {
		return err
	}
	v1 := t.kind == kMistralV1
	for i, m := range loop {
		switch m.Role {
		case "user":
			if v1 {
				b.tmpl(" [INST] ")
			} else {
				b.tmpl("[INST] ")
			}
			if i == 0 && hasSys {
				b.text(sys)
				b.tmpl("\n\n")
			}
			b.text(m.Content)
			b.tmpl(" [/INST]")
		case "assistant":
			if v1 {
				b.tmpl(" ")
			}
			b.text(m.Content)
			b.tmpl(t.eos)
		default:
			return t.errorf("only user and assistant roles are supported after an optional system message (message %d is %q)", i+len(msgs)-len(loop), m.Role)
		}
	}
	return nil
}

// mistralV3 covers v3 and v3-tekken: the system message goes into the last
// message when that is a user turn, and is lost otherwise (as in Jinja).
// Tool results need tool-call ids that Message does not carry.
func (t Template) mistralV3(b *builder, msgs []backend.Message) error {
	sys, hasSys, loop := leadingSystem(msgs)
	var conv []backend.Message
	for _, m := range loop {
		if m.Role != "tool" && m.Role != "tool_results" {
			conv = append(conv, m)
		}
	}
	if err := t.alternate(conv, len(msgs)-len(loop)); err != nil {
		return err
	}
	tekken := t.kind == kMistralV3Tekken
	for i, m := range loop {
		switch m.Role {
		case "user":
			if tekken {
				b.tmpl("[INST]")
			} else {
				b.tmpl("[INST] ")
			}
			if i == len(loop)-1 && hasSys {
				b.text(sys)
				b.tmpl("\n\n")
			}
			b.text(m.Content)
			b.tmpl("[/INST]")
		case "assistant":
			if tekken {
				b.text(m.Content)
			} else {
				b.tmpl(" ")
				b.text(pyStrip(m.Content))
			}
			b.tmpl(t.eos)
		case "tool", "tool_results":
			return t.errorf("tool results need a tool call id (message %d)", i+len(msgs)-len(loop))
		default:
			return t.errorf("only user and assistant roles are supported after an optional system message (message %d is %q)", i+len(msgs)-len(loop), m.Role)
		}
	}
	return nil
}

// mistralV7 is Mistral Large 2411's basic template: messages in order,
// system ones as [SYSTEM_PROMPT].
func (t Template) mistralV7(b *builder, msgs []backend.Message) error {
	for i, m := range msgs {
		switch m.Role {
		case "user":
			b.tmpl("[INST] ")
			b.text(m.Content)
			b.tmpl("[/INST]")
		case "system":
			b.tmpl("[SYSTEM_PROMPT] ")
			b.text(m.Content)
			b.tmpl("[/SYSTEM_PROMPT]")
		case "assistant":
			b.tmpl(" ")
			b.text(m.Content)
			b.tmpl(t.eos)
		default:
			return t.errorf("only user, system and assistant roles are supported (message %d is %q)", i, m.Role)
		}
	}
	return nil
}

// mistralV7Tekken is Mistral Small 3.1's template. Its role-alternation
// check never fires (the list it checks is built with set inside a for
// loop, which Jinja scopes to the loop), so none is made here either.
func (t Template) mistralV7Tekken(b *builder, msgs []backend.Message) error {
	sys, hasSys, loop := leadingSystem(msgs)
	switch {
	case hasSys:
		b.tmpl("[SYSTEM_PROMPT]")
		b.text(sys)
		b.tmpl("[/SYSTEM_PROMPT]")
	case len(t.sysDated) > 0:
		b.tmpl("[SYSTEM_PROMPT]" + strings.Join(t.sysDated, t.clock().Format("2006-01-02")) + "[/SYSTEM_PROMPT]")
	}
	for i, m := range loop {
		switch m.Role {
		case "user":
			b.tmpl("[INST]")
			b.text(m.Content)
			b.tmpl("[/INST]")
		case "assistant":
			b.text(m.Content)
			b.tmpl(t.eos)
		case "tool", "tool_results":
			return t.errorf("tool results need a tool call id (message %d)", i+len(msgs)-len(loop))
		default:
			return t.errorf("only user and assistant roles are supported after an optional system message (message %d is %q)", i+len(msgs)-len(loop), m.Role)
		}
	}
	return nil
}

// gemma is Gemma 3's template, which Gemma 1 and 2 match except that they
// reject a system message.
func (t Template) gemma(b *builder, msgs []backend.Message, gen bool) error {
	sys, hasSys, loop := leadingSystem(msgs)
	if err := t.alternate(loop, len(msgs)-len(loop)); err != nil {
		return err
	}
	for i, m := range loop {
		role := m.Role
		if role == "assistant" {
			role = "model"
		}
		b.tmpl("<start_of_turn>")
		b.text(role)
		b.tmpl("\n")
		if i == 0 && hasSys {
			b.text(sys) // not trimmed, unlike content
			b.tmpl("\n\n")
		}
		b.text(pyStrip(m.Content))
		b.tmpl("<end_of_turn>\n")
	}
	if gen {
		b.tmpl("<start_of_turn>model\n")
	}
	return nil
}

func gemma4(b *builder, msgs []backend.Message, gen bool) {
	loop := msgs
	if r := msgs[0].Role; r == "system" || r == "developer" {
		b.tmpl("<|turn>system\n")
		b.text(pyStrip(msgs[0].Content))
		b.tmpl("<turn|>\n")
		loop = msgs[1:]
	}
	for _, m := range loop {
		role := m.Role
		if role == "assistant" {
			role = "model"
		}
		b.tmpl("<|turn>")
		b.text(role)
		b.tmpl("\n")
		if role == "model" {
			b.text(gemma4StripThinking(m.Content))
		} else {
			b.text(pyStrip(m.Content))
		}
		b.tmpl("<turn|>\n")
	}
	if gen {
		// enable_thinking is undefined, so the template closes an empty thought channel.
		b.tmpl("<|turn>model\n<|channel>thought\n<channel|>")
	}
}

// gemma4StripThinking is the template's strip_thinking macro: text between
// "<|channel>" and "<channel|>" is dropped.
func gemma4StripThinking(s string) string {
	var sb strings.Builder
	for _, part := range strings.Split(s, "<channel|>") {
		if before, _, ok := strings.Cut(part, "<|channel>"); ok {
			sb.WriteString(before)
		} else {
			sb.WriteString(part)
		}
	}
	return pyStrip(sb.String())
}

// phi3 is Phi-3 mini's original template: other roles are dropped and
// add_generation_prompt has no effect.
func phi3(b *builder, msgs []backend.Message) {
	sys, hasSys, loop := leadingSystem(msgs)
	for _, m := range loop {
		switch m.Role {
		case "user":
			b.tmpl("<|user|>\n")
			if hasSys {
				b.text(sys)
				b.tmpl("\n")
				hasSys = false
			}
			b.text(m.Content)
			b.tmpl("<|end|>\n<|assistant|>\n")
		case "assistant":
			b.text(m.Content)
			b.tmpl("<|end|>\n")
		}
	}
}

func (t Template) phi35(b *builder, msgs []backend.Message, gen bool) {
	for _, m := range msgs {
		switch m.Role {
		case "system":
			if m.Content == "" && !t.emptySys {
				continue
			}
			fallthrough
		case "user", "assistant":
			b.tmpl("<|" + m.Role + "|>\n")
			b.text(m.Content)
			b.tmpl("<|end|>\n")
		}
	}
	if gen {
		b.tmpl("<|assistant|>\n")
	} else {
		b.tmpl(t.eos)
	}
}

// phi4: the legacy template opens the assistant turn after every user turn
// and ignores add_generation_prompt.
func (t Template) phi4(b *builder, msgs []backend.Message, gen bool) {
	for _, m := range msgs {
		switch m.Role {
		case "system", "user":
			b.tmpl("<|im_start|>" + m.Role + "<|im_sep|>")
			b.text(m.Content)
			b.tmpl("<|im_end|>")
			if t.legacy && m.Role == "user" {
				b.tmpl("<|im_start|>assistant<|im_sep|>")
			}
		case "assistant":
			if !t.legacy {
				b.tmpl("<|im_start|>assistant<|im_sep|>")
			}
			b.text(m.Content)
			b.tmpl("<|im_end|>")
		}
	}
	if gen && !t.legacy {
		b.tmpl("<|im_start|>assistant<|im_sep|>")
	}
}

// zephyr: the generation prompt is written inside the message loop, after
// the last message, so it is all the template writes for other roles too.
func (t Template) zephyr(b *builder, msgs []backend.Message, gen bool) {
	for i, m := range msgs {
		switch m.Role {
		case "user", "system", "assistant":
			b.tmpl("<|" + m.Role + "|>\n")
			b.text(m.Content)
			b.tmpl(t.eos + "\n")
		}
		if i == len(msgs)-1 && gen {
			b.tmpl("<|assistant|>\n")
		}
	}
}

func (t Template) commandR(b *builder, msgs []backend.Message, gen bool) error {
	sys, hasSys, loop := leadingSystem(msgs)
	if hasSys {
		b.tmpl("<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>")
		b.text(sys) // not stripped, unlike turns
		b.tmpl("<|END_OF_TURN_TOKEN|>")
	}
	if err := t.alternate(loop, len(msgs)-len(loop)); err != nil {
		return err
	}
	for _, m := range loop {
		switch m.Role {
		case "user":
			b.tmpl("<|START_OF_TURN_TOKEN|><|USER_TOKEN|>")
		case "assistant":
			b.tmpl("<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>")
		default:
			continue
		}
		b.text(pyStrip(m.Content))
		b.tmpl("<|END_OF_TURN_TOKEN|>")
	}
	if gen {
		b.tmpl("<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>")
	}
	return nil
}
