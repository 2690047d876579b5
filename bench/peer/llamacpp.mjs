// Drives llama.cpp through the npm package node-llama-cpp (pinned 3.21.1,
// CPU build), installed outside the repository (its node_modules is ~1 GB):
//
//   bench/peer/install.sh            # once; installs into $TANDEM_PEER_DIR (default ~/.cache/tandem-peer)
//   node bench/peer/llamacpp.mjs greedy MODEL.gguf N PROMPT...   # greedy token ids as JSON, one line per prompt
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
} else {
  console.error("usage: node bench/peer/llamacpp.mjs greedy MODEL.gguf N PROMPT...");
  process.exit(2);
}
