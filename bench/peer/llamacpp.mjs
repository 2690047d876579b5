// Drives llama.cpp through the npm package node-llama-cpp (pinned 3.21.1,
// CPU build), installed outside the repository (its node_modules is ~1 GB):
//
//   bench/peer/install.sh            # once; installs into $TANDEM_PEER_DIR (default ~/.cache/tandem-peer)
//   node bench/peer/llamacpp.mjs greedy MODEL.gguf N PROMPT...   # greedy token ids as JSON, one line per prompt
//   node bench/peer/llamacpp.mjs bench MODEL.gguf P N THREADS REPS  # llama-bench-style pp/tg tok/s as JSON
//
// Prompts are tokenized by llama.cpp with BOS added as the vocabulary asks
// and special tokens not parsed, matching `tandem run`.
import os from "node:os";
import path from "node:path";
import {pathToFileURL} from "node:url";

const peerDir = process.env.TANDEM_PEER_DIR || path.join(os.homedir(), ".cache", "tandem-peer");
const {getLlama} = await import(pathToFileURL(path.join(peerDir, "node_modules/node-llama-cpp/dist/index.js")));

const [cmd, modelPath, ...rest] = process.argv.slice(2);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});

if (cmd === "greedy") {
  const n = Number(rest[0]);
  const prompts = rest.slice(1);
  const model = await llama.loadModel({modelPath});
  for (const prompt of prompts) {
    const ctx = await model.createContext({contextSize: 512, threads: 1, batchSize: 512});
    const seq = ctx.getSequence();
    const input = model.tokenize(prompt, false);
    if (model.tokens.bos != null && model.fileInfo.metadata?.tokenizer?.ggml?.add_bos_token !== false) input.unshift(model.tokens.bos);
    const out = [];
    for await (const t of seq.evaluate(input, {temperature: 0})) {
      if (model.isEogToken(t)) break;
      out.push(t);
      if (out.length >= n) break;
    }
    console.log(JSON.stringify({model: path.basename(modelPath), prompt, prompt_tokens: input, tokens: out}));
    await ctx.dispose();
  }
  await model.dispose();
} else if (cmd === "bench") {
  // Like tandem bench: prefill P tokens from an empty context; separately,
  // decode N tokens one at a time; one warm-up run, then REPS timed runs.
  const [p, n, threads, reps] = rest.map(Number);
  const model = await llama.loadModel({modelPath});
  const ctx = await model.createContext({contextSize: Math.max(p, n) + 16, threads, batchSize: Math.max(p, 1)});
  const seq = ctx.getSequence();
  const vocab = model.fileInsights?.vocabularySize ?? model.tokens?.size ?? 512;
  const toks = Array.from({length: Math.max(p, n)}, (_, i) => (i * 7919 + 1) % vocab);
  const stats = xs => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)) : 0;
    return [m, sd];
  };
  const pp = async () => {
    await seq.clearHistory();
    const t0 = process.hrtime.bigint();
    await seq.evaluateWithoutGeneratingNewTokens(toks.slice(0, p));
    return p / (Number(process.hrtime.bigint() - t0) / 1e9);
  };
  // Decode computes the logits of every token (as generation must, and as
  // llama-bench's tg test does): greedy sampling after a one-token prompt.
  // Evaluating without generating would skip the output matrix.
  const tg = async () => {
    await seq.clearHistory();
    const t0 = process.hrtime.bigint();
    let got = 0;
    for await (const t of seq.evaluate([toks[0]], {temperature: 0})) {
      if (++got >= n) break;
    }
    if (got < n) throw new Error(`decode stopped after ${got} of ${n} tokens`);
    return n / (Number(process.hrtime.bigint() - t0) / 1e9);
  };
  const run = async f => { await f(); const xs = []; for (let i = 0; i < reps; i++) xs.push(await f()); return stats(xs); };
  const [ppm, pps] = p > 0 ? await run(pp) : [0, 0];
  const [tgm, tgs] = n > 0 ? await run(tg) : [0, 0];
  console.log(JSON.stringify({model: path.basename(modelPath), threads, n_prompt: p, n_gen: n, pp_tok_s: ppm, pp_std: pps, tg_tok_s: tgm, tg_std: tgs}));
  await ctx.dispose();
  await model.dispose();
} else {
  console.error("usage: node bench/peer/llamacpp.mjs greedy MODEL.gguf N PROMPT... | bench MODEL.gguf P N THREADS REPS");
  process.exit(2);
}
