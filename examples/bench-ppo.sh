#!/usr/bin/env bash
# PPO phase breakdown: synchronous (max_staleness 0) vs overlapped (max_staleness 1), with every role in
# one JVM and as three JVMs on 127.0.0.1 (supervisor+trainer | rollout | reward), GRPO (no critic, no KL),
# the reward from a reward model with a random score head. Prints the median seconds per phase over the
# iterations after the first (warm-up) and the iteration time against max(generate, train).
#
# Usage: examples/bench-ppo.sh [tiny|100m] [iterations]     (needs python3 for the summary)
#   tiny: the bundled tiny Llama; 100m: a random ~110M Llama (hidden 768, 12 layers, vocab 32000, tied).
# Run it on an otherwise idle machine: the numbers are wall-clock times.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
size=${1:-tiny}
iterations=${2:-6}
jar="$root/roles/target/rlhf-node.jar"
[ -f "$jar" ] || mvn -B -q install -DskipTests
rlhf() { java -jar "$jar" "$@"; }
out="out/bench-ppo-$size"
mkdir -p "$out"
case "$size" in
  tiny)
    policy=examples/tiny-llama
    shape=(--rollout_batch_size 8 --n_samples_per_prompt 4 --generate_max_len 16 --train_batch_size 32
      --micro_train_batch_size 16)
    ;;
  100m)
    policy="$out/policy"
    [ -d "$policy" ] || rlhf init-model --output "$policy" --hidden-size 768 --intermediate-size 2048 --layers 12 \
      --heads 12 --vocab-size 32000 --tie-word-embeddings --eos-id 2,4 --tokenizer examples/tiny-llama
    shape=(--rollout_batch_size 8 --n_samples_per_prompt 2 --generate_max_len 32 --train_batch_size 16
      --micro_train_batch_size 8)
    ;;
  *) echo "usage: $0 [tiny|100m] [iterations]" >&2; exit 2 ;;
esac
rm_dir="$out/rm"
[ -d "$rm_dir" ] || rlhf init-model --output "$rm_dir" --hidden-size 64 --intermediate-size 176 --layers 2 \
  --heads 4 --vocab-size "$(python3 -c "import json;print(json.load(open('$policy/config.json'))['vocab_size'])")" \
  --score-head --tokenizer examples/tiny-llama
common=(--pretrain "$policy" --reward_pretrain "$rm_dir" --prompt_data examples/data/ppo_prompts.jsonl
  --input_key input --apply_chat_template --advantage_estimator group_norm --init_kl_coef 0
  --actor_learning_rate 1e-5 --temperature 1.0 --ignore_eos --max_iterations "$iterations" "${shape[@]}")

one_jvm() { # staleness
  rlhf --role all --threads 2 --save_path "$out/all-s$1" --max_staleness "$1" "${common[@]}" > "$out/all-s$1.log" 2>&1
}
three_jvms() { # staleness
  local port=$((26000 + RANDOM % 2000)) dir="$out/three-s$1"
  rlhf --role supervisor,trainer --port "$port" --threads 1 --save_path "$dir" --max_staleness "$1" "${common[@]}" \
    > "$dir.sup.log" 2>&1 & local sup=$!
  rlhf --role rollout --port 0 --seed "127.0.0.1:$port" --threads 1 --save_path "$dir" --max_staleness "$1" \
    "${common[@]}" > "$dir.rollout.log" 2>&1 &
  rlhf --role reward --port 0 --seed "127.0.0.1:$port" --threads 1 --save_path "$dir" --max_staleness "$1" \
    "${common[@]}" > "$dir.reward.log" 2>&1 &
  wait "$sup"
  wait
}
for s in 0 1; do
  one_jvm "$s"
  three_jvms "$s"
done
python3 - "$out" <<'PY'
import json, statistics, sys
out = sys.argv[1]
print(f"{'run':<10} {'generate':>9} {'score':>7} {'train':>7} {'sync':>7} {'iteration':>10} {'iter/max(gen,train)':>20} {'iter/sum':>9}")
for name in ["all-s0", "all-s1", "three-s0", "three-s1"]:
    rows = [json.loads(l) for l in open(f"{out}/{name}/metrics.jsonl")]
    rows = [r for r in rows if r.get("iteration", 0) >= 2]  # skip the warm-up iteration
    med = {k: statistics.median(r[k] for r in rows) for k in
           ["time_generate", "time_score", "time_train", "time_sync", "time_iteration"]}
    g, s, t, y, it = (med[k] for k in ["time_generate", "time_score", "time_train", "time_sync", "time_iteration"])
    print(f"{name:<10} {g:9.3f} {s:7.3f} {t:7.3f} {y:7.3f} {it:10.3f} {it / max(g, t):20.2f} {it / (g + s + t + y):9.2f}")
PY
