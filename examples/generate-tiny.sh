#!/usr/bin/env bash
# Builds rlhf-node.jar if needed, then generates with the bundled tiny Llama (random weights, byte-level
# tokenizer, ChatML template): once greedily from token ids, once sampled from a chat prompt.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jar="$root/roles/target/rlhf-node.jar"
if [ ! -f "$jar" ]; then
  (cd "$root" && mvn -B -q package -DskipTests)
fi
model="$root/examples/tiny-llama"
java -jar "$jar" generate --model "$model" --input-ids 1,77,106,113,113,116 --max-new-tokens 16 --greedy
java -jar "$jar" generate --model "$model" --prompt "Hello, who are you?" --chat \
  --max-new-tokens 24 --temperature 0.8 --top-p 0.95 --seed 7 --num-samples 2
