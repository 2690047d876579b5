#!/usr/bin/env bash
# Installs the speed/parity peer, llama.cpp via node-llama-cpp 3.21.1 (CPU
# prebuilt binaries), outside the repository.
set -euo pipefail
dir=${TANDEM_PEER_DIR:-$HOME/.cache/tandem-peer}
mkdir -p "$dir"
cd "$dir"
[ -f package.json ] || npm init -y >/dev/null
[ -d node_modules/node-llama-cpp ] || npm i -E node-llama-cpp@3.21.1
echo "node-llama-cpp installed in $dir"
