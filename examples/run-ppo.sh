#!/usr/bin/env bash
# The bundled tiny PPO pipeline on CPU (about two minutes on 2 cores, plus the first build):
#   1. SFT the random tiny Llama on answers of mixed style ("apple, please." and "CAR!!!"),
#   2. a reward model on preference pairs that prefer the polite style,
#   3. PPO (GAE, policy + critic + reference + reward + rollout as actors) from the SFT policy,
# then greedy answers of the SFT and the PPO policy to held-out prompts the PPO run never saw.
# `--cluster` runs step 3 as three JVMs on 127.0.0.1 (launch-scripts/local-cluster.sh) instead of one.
# Outputs in out/ppo-tiny: metrics.jsonl (eval_reward_mean = held-out reward) and report.html per stage.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
jar="$root/roles/target/rlhf-node.jar"
out="out/ppo-tiny"
if [ ! -f "$jar" ]; then
  mvn -B -q install -DskipTests
fi
rlhf() { java -jar "$jar" "$@"; }
data="examples/data"
common=(--apply_chat_template --max_len 64 --threads 2)

echo "== 1/3 SFT (mixed-style answers)"
rlhf train sft --pretrain examples/tiny-llama --dataset "$data/ppo_sft.jsonl" --input_key input \
  --output_key output --save_path "$out/sft" --micro_train_batch_size 8 --train_batch_size 8 \
  --learning_rate 2e-3 --max_epochs 15 --logging_steps 300 "${common[@]}"
echo "== 2/3 reward model"
rlhf train rm --pretrain "$out/sft" --dataset "$data/preference.jsonl" --prompt_key prompt \
  --save_path "$out/rm" --micro_train_batch_size 8 --train_batch_size 16 --learning_rate 1e-3 \
  --eval_split 0.1 --logging_steps 10 "${common[@]}"
echo "== 3/3 PPO"
rm -rf "$out/ppo"
if [ "${1:-}" = "--cluster" ]; then
  RLHF_NODE_JAR="$jar" RLHF_LOG_DIR="$out/cluster-logs" launch-scripts/local-cluster.sh examples/ppo-tiny.conf
  grep -A8 "run summary" "$out/cluster-logs/supervisor.log"
else
  rlhf --role all --config examples/ppo-tiny.conf
fi

echo "== held-out prompts, greedy"
while read -r line; do
  prompt=$(echo "$line" | sed -E 's/.*"input": "([^"]*)".*/\1/')
  for stage in sft ppo/policy; do
    printf '%-11s %-18s ' "$stage" "$prompt"
    rlhf generate --model "$out/$stage" --prompt "$prompt" --chat --greedy --max-new-tokens 16 \
      | sed -E 's/.*"text":"([^"]*)".*/\1/'
  done
done < "$data/ppo_eval_prompts.jsonl"
echo "metrics: $out/ppo/metrics.jsonl   report: $out/ppo/report.html"
