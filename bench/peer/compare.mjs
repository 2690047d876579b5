// Compares tandem bench with llama.cpp (node-llama-cpp 3.21.1) on the same
// files, threads, prompt and generation lengths, in one run, and prints a
// markdown table of tok/s and ratios (tandem / llama.cpp).
//
//   go build -o /tmp/tandem ./cmd/tandem
//   node bench/peer/compare.mjs --tandem /tmp/tandem [--threads 1,2] [-p 128] [-n 64] [-r 3] MODEL.gguf...
//
// Before each pair of measurements it waits (up to 2 minutes) for the
// machine to be idle: 1-minute load average below 0.5.
import {execFileSync} from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";

const args = process.argv.slice(2);
const opt = {tandem: "tandem", threads: "1,2", p: 128, n: 64, r: 3};
const models = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--tandem") opt.tandem = args[++i];
  else if (a === "--threads") opt.threads = args[++i];
  else if (a === "-p") opt.p = Number(args[++i]);
  else if (a === "-n") opt.n = Number(args[++i]);
  else if (a === "-r") opt.r = Number(args[++i]);
  else models.push(a);
}
if (models.length === 0) {
  console.error("usage: node bench/peer/compare.mjs --tandem BIN [--threads 1,2] [-p 128] [-n 64] [-r 3] MODEL.gguf...");
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));

function waitIdle() {
  for (let i = 0; i < 24; i++) {
    const load = Number(fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
    if (load < 0.5) return load;
    execFileSync("sleep", ["5"]);
  }
  const load = Number(fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
  console.error(`warning: machine not idle (load ${load}); measuring anyway`);
  return load;
}

const run = (cmd, argv) => JSON.parse(execFileSync(cmd, argv, {encoding: "utf8", stdio: ["ignore", "pipe", "inherit"]}).trim().split("\n").pop());
const f = x => x.toFixed(1);
console.log(`| model | threads | tandem pp${opt.p} | llama.cpp pp${opt.p} | pp ratio | tandem tg${opt.n} | llama.cpp tg${opt.n} | tg ratio | kernels |`);
console.log("|---|---|---|---|---|---|---|---|---|");
for (const m of models) {
  for (const t of opt.threads.split(",").map(Number)) {
    waitIdle();
    const ours = run(opt.tandem, ["bench", "-m", m, "-p", String(opt.p), "-n", String(opt.n), "-t", String(t), "-r", String(opt.r), "--json"]);
    const peer = run("node", [path.join(here, "llamacpp.mjs"), "bench", m, String(opt.p), String(opt.n), String(t), String(opt.r)]);
    console.log(`| ${path.basename(m)} | ${t} | ${f(ours.pp_tok_s)} ± ${f(ours.pp_std)} | ${f(peer.pp_tok_s)} ± ${f(peer.pp_std)} | ${(ours.pp_tok_s / peer.pp_tok_s).toFixed(2)} | ${f(ours.tg_tok_s)} ± ${f(ours.tg_std)} | ${f(peer.tg_tok_s)} ± ${f(peer.tg_std)} | ${(ours.tg_tok_s / peer.tg_tok_s).toFixed(2)} | ${ours.kernels} |`);
  }
}
