#!/usr/bin/env bash
# Verifiable rewards on the bundled tiny Llama on CPU (about two minutes on 2 cores, plus the first build):
#   1. SFT the random tiny Llama on sums ("What is 3+4?") answered right only half of the time,
#   2. GRPO (examples/ppo-math.conf) rewarded by the built-in rule exact_match: 1 when the response's last
#      number equals the prompt's label (the "answer" field of examples/data/math_prompts.jsonl, --label_key).
# `--remote` scores through examples/remote_rm_server.py instead (the same rule behind OpenRLHF's remote reward
# protocol, --remote_rm_url); `--dynamic` adds DAPO's dynamic sampling (--dynamic_filtering).
# Outputs in out/math-reward: metrics.jsonl (reward_mean = sampled accuracy, eval_reward_mean = greedy accuracy).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
jar="$root/roles/target/rlhf-node.jar"
out="out/math-reward"
port="${RM_PORT:-5000}"
if [ ! -f "$jar" ]; then
  mvn -B -q install -DskipTests
fi
rlhf() { java -jar "$jar" "$@"; }

extra=()
for arg in "$@"; do
  case "$arg" in
    --remote) extra+=(--reward_functions "" --remote_rm_url "http://127.0.0.1:$port/get_reward") ;;
    --dynamic) extra+=(--dynamic_filtering) ;;
    *) echo "unknown option $arg (use --remote, --dynamic)" >&2; exit 2 ;;
  esac
done

echo "== 1/2 SFT (sums, half of the answers wrong)"
rlhf train sft --pretrain examples/tiny-llama --dataset examples/data/math_sft.jsonl --input_key input \
  --output_key output --save_path "$out/sft" --micro_train_batch_size 8 --train_batch_size 8 \
  --learning_rate 2e-3 --max_epochs 30 --logging_steps 3000 --apply_chat_template --max_len 64 --threads 2
echo "== 2/2 GRPO with a verifiable reward"
rm -rf "$out/ppo"
if [[ " ${extra[*]-} " == *" --remote_rm_url "* ]]; then
  python3 examples/remote_rm_server.py --port "$port" &
  server=$!
  trap 'kill "$server"' EXIT
fi
rlhf --role all --config examples/ppo-math.conf ${extra[@]+"${extra[@]}"}
echo "metrics: $out/ppo/metrics.jsonl   report: $out/ppo/report.html"
