# Renders every template in ../templates, and the chat templates of the
# vocab GGUF files in ../shared/tokenizer (read in place, not copied), with
# Jinja2 as Hugging Face transformers' apply_chat_template does, for fixed
# and seeded random conversations, into golden.jsonl (read by
# TestJinjaGolden). Regenerate from this directory with
#   python3 gen.py > golden.jsonl
# (needs Jinja2; transformers itself is not needed). The clock is fixed at
# 2025-03-07 so that templates calling strftime_now are reproducible.
import glob, json, os, random, struct
from datetime import datetime
import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

NOW = datetime(2025, 3, 7, 12, 0, 0)

def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = lambda fmt: NOW.strftime(fmt)

# The models' BOS and EOS token texts, by file-name prefix.
TOKENS = {
    "meta-llama-3": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama-3": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama-2": ("<s>", "</s>"),
    "mixtral": ("<s>", "</s>"),
    "mistral": ("<s>", "</s>"),
    "zephyr": ("<s>", "</s>"),
    "smollm2": ("<|im_start|>", "<|im_end|>"),
    "qwen": ("<|endoftext|>", "<|im_end|>"),
    "openhermes": ("<s>", "<|im_end|>"),
    "gemma": ("<bos>", "<eos>"),
    "ggml-vocab-gemma-4": ("<bos>", "<eos>"),
    "ggml-vocab-qwen2": ("<|endoftext|>", "<|endoftext|>"),
    "ggml-vocab-phi-3": ("<s>", "<|endoftext|>"),
    "ggml-vocab-command-r": ("<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"),
    "phi-3": ("<s>", "<|endoftext|>"),
    "phi-4": ("<|endoftext|>", "<|im_end|>"),
    "phi-4-mini": ("<|endoftext|>", "<|endoftext|>"),
}

def tokens(name):
    for k in sorted(TOKENS, key=len, reverse=True):
        if name.startswith(k):
            return TOKENS[k]
    raise KeyError(name)

PIECES = ["Hello", "Hi there", "  spaced  ", "\n\nlead", "trail\n\n", "<|im_end|>", "</s>", "[INST]", " [/INST]",
          "<think>r</think>a", "<think>\nreason\n</think>\n\nanswer", "</think>", "<think>",
          "<|channel>thought\nhmm<channel|>visible", "<channel|>", "<tool_response>x</tool_response>",
          "\x1c", "\x1f", "\u00a0", "\u2028", "\u3000", "\u0085", "\u200b", "é", "日本", "🙂", '"quote"',
          "back\\slash", "\t", "", "\x7f", "\x00", "\x08\x0c\x01", " ", "\r\n", "\v", "<<SYS>>", "{{ x }}",
          "<|eot_id|>", "<start_of_turn>", "<turn|>"]
MAIN = ["user", "assistant"]
ODD = ["system", "tool", "developer", "ipython", "model", "foo", "tool_results", "USER", ""]

def content(rng):
    return "".join(rng.choice(PIECES) for _ in range(rng.choice([0, 1, 1, 2, 3])))

def conversation(rng):
    msgs = []
    if rng.random() < 0.5:
        msgs.append({"role": "system", "content": content(rng)})
    alternating = rng.random() < 0.7
    for i in range(rng.randint(0 if msgs else 1, 6)):
        if alternating:
            role = "tool" if rng.random() < 0.1 else MAIN[i % 2]
        else:
            role = rng.choice(MAIN * 3 + ODD)
        msgs.append({"role": role, "content": content(rng)})
    return msgs

FIXED = [
    [{"role": "user", "content": "Hello"}],
    [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi there"}],
    [{"role": "system", "content": "You are a helpful assistant"}, {"role": "user", "content": "Hello"},
     {"role": "assistant", "content": "Hi there"}, {"role": "user", "content": "Who are you"},
     {"role": "assistant", "content": "   I am an assistant   "}, {"role": "user", "content": "Another question"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"},
     {"role": "assistant", "content": "<think>\nadd\n</think>\n\n4"}],
    [{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": "Calling."},
     {"role": "tool", "content": "{\"t\": 21}"}, {"role": "tool", "content": "sunny"}],
]

def gguf_chat_template(path):
    """tokenizer.chat_template of a GGUF v2/v3 file, or None."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0]
    def string():
        nonlocal pos
        n = take("Q")
        s = data[pos:pos + n].decode("utf-8")
        pos += n
        return s
    sizes = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        return take(sizes[t])
    assert data[:4] == b"GGUF" and take("I") == 0x46554747
    take("I"); take("Q")
    for _ in range(take("Q")):
        key = string()
        v = value(take("I"))
        if key == "tokenizer.chat_template":
            return v
    return None

def templates(here):
    for path in sorted(glob.glob(os.path.join(here, "..", "templates", "*.jinja"))):
        yield os.path.basename(path), open(path, encoding="utf-8").read()
    shared = os.path.join(here, "..", "..", "..", "..", "shared", "tokenizer")
    for name in ("qwen2", "phi-3", "command-r", "gemma-4"):
        src = gguf_chat_template(os.path.join(shared, "ggml-vocab-%s.gguf" % name))
        yield "ggml-vocab-%s.gguf" % name, src

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    rng = random.Random(20250307)
    cases = [(m, g) for m in FIXED for g in (True, False)]
    cases += [(conversation(rng), rng.random() < 0.6) for _ in range(16)]
    for name, src in templates(here):
        bos, eos = tokens(name)
        tmpl = env.from_string(src)
        for msgs, gen in cases:
            rec = {"template": name, "messages": msgs, "add_generation_prompt": gen}
            try:
                out = tmpl.render(messages=msgs, add_generation_prompt=gen, bos_token=bos, eos_token=eos)
                rec["bos"] = "bos_token" in src and out.startswith(bos)
                rec["output"] = out[len(bos):] if rec["bos"] else out
            except Exception as e:
                rec["error"] = str(e)
            print(json.dumps(rec, ensure_ascii=True))

main()
