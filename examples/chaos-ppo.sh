#!/usr/bin/env bash
# Chaos run of the PPO example: the seeded tiny-Llama run (GAE, critic, KL, a checkpoint every 2
# iterations) as four JVMs on 127.0.0.1 under the restarting launcher (launch-scripts/local-cluster.sh),
# with `kill -9` of one node after another at seeded random points, then the same run undisturbed in one
# JVM (--role all). It checks that the run completed (exit 0), that metrics.jsonl holds each iteration
# once, and that every iteration's reward, KL, beta and losses equal the undisturbed run's bit for bit,
# and it prints, per kill, the measured times from the kill to the supervisor noticing it and to
# training resumed, and the iterations that were computed again.
#
# Usage: examples/chaos-ppo.sh [kills] [iterations] [seed]
#   kills       how many kills (default 8: trainer+supervisor, critic, rollout, trainer+supervisor, ...)
#   iterations  length of the run (default 60)
#   seed        seed of the kill points (default: from the clock; printed)
# Environment: RLHF_NODES overrides the layout (default below; the first node is killed as "main"),
#   RLHF_BASE_PORT the first port (default 26550). Needs JDK 17, Maven for the first build, and awk.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
kills=${1:-8}
iterations=${2:-60}
seed=${3:-$(date +%s)}
jar="$root/roles/target/rlhf-node.jar"
[ -f "$jar" ] || mvn -B -q install -DskipTests
out="out/chaos-ppo"
rm -rf "$out"
mkdir -p "$out"
rlhf() { java -jar "$jar" "$@"; }

echo "== chaos seed $seed ($kills kills, $iterations iterations); repeat with: $0 $kills $iterations $seed"
rlhf init-model --output "$out/rm" --hidden-size 64 --intermediate-size 176 --layers 2 --heads 4 --kv-heads 2 \
  --vocab-size 320 --score-head --tokenizer examples/tiny-llama --seed 7 > /dev/null
conf() { # conf SAVE_DIR: the run's settings
  cat <<EOF
pretrain = "examples/tiny-llama"
reward_pretrain = "$out/rm"
prompt_data = "examples/data/ppo_prompts.jsonl"
input_key = "input"
apply_chat_template = true
save_path = "$1"
rollout_batch_size = 8
n_samples_per_prompt = 2
generate_max_len = 8
advantage_estimator = "gae"
train_batch_size = 16
micro_train_batch_size = 8
actor_learning_rate = 1e-3
critic_learning_rate = 1e-3
init_kl_coef = 0.05
kl_target = 0.01
kl_horizon = 100
num_episodes = 100
max_iterations = $iterations
save_steps = 2
threads = 1
temperature = 1.0
recovery_timeout_s = 300
EOF
}
conf "$out/undisturbed" > "$out/undisturbed.conf"
conf "$out/chaos" > "$out/chaos.conf"

echo "== undisturbed run, one JVM"
RLHF_PROGRESS=plain rlhf --role all --config "$out/undisturbed.conf" > "$out/undisturbed.log" 2>&1

echo "== chaos run, four JVMs"
export RLHF_NODES=${RLHF_NODES:-main=supervisor,trainer r1=rollout r2=rollout scorers=reward,reference,critic}
export RLHF_BASE_PORT=${RLHF_BASE_PORT:-26550} RLHF_LOG_DIR="$out/logs" RLHF_MAX_RESTARTS=$((kills + 2))
export RLHF_RESTART_BACKOFF=1 RLHF_PROGRESS=plain RLHF_LOG_LEVEL=INFO RLHF_NODE_JAR="$jar"
launch-scripts/local-cluster.sh "$out/chaos.conf" > "$out/launcher.log" 2>&1 &
launcher=$!
rows() { [ -f "$out/chaos/metrics.jsonl" ] && wc -l < "$out/chaos/metrics.jsonl" || echo 0; }
await_rows() { # await_rows N: until metrics.jsonl has N rows (it drops back at a rollback)
  while (( $(rows) < $1 )); do
    kill -0 "$launcher" 2> /dev/null || { echo "the launcher ended before iteration $1" >&2; return 1; }
    sleep 0.1
  done
}
RANDOM=$seed
read -r -a names <<< "$(for spec in $RLHF_NODES; do printf '%s ' "${spec%%=*}"; done)"
order=("${names[0]}" "${names[3]:-${names[0]}}" "${names[1]}" "${names[0]}" "${names[2]:-${names[1]}}")
printf '| kill | node | after iteration | killed at |\n' > "$out/kills.md"
at=0
for (( k = 0; k < kills; k++ )); do
  node=${order[$((k % ${#order[@]}))]}
  at=$((at + 3 + RANDOM % 4))
  (( at < iterations - 2 )) || break
  await_rows "$at"
  sleep "0.$((RANDOM % 10))"
  pid=$(cat "$RLHF_LOG_DIR/$node.pid")
  kill -9 "$pid"
  when=$(date +%T.%3N)
  done_rows=$(rows)
  echo "killed $node (pid $pid) at $when after iteration $done_rows"
  printf '| %d | %s | %d | %s |\n' "$((k + 1))" "$node" "$done_rows" "$when" >> "$out/kills.md"
  await_rows $((at + 1))
done
rc=0
wait "$launcher" || rc=$?
echo "launcher exit code: $rc"

echo "== comparison with the undisturbed run"
awk -v keys="reward_mean kl kl_coef policy_loss value_loss samples_total policy_version" '
  function field(line, k,   m) { return match(line, "\"" k "\":[^,}]*") ? substr(line, RSTART, RLENGTH) : "" }
  FNR == 1 { file++ }
  { split(keys, ks, " "); row = ""; for (i in ks) row = row field($0, ks[i]) ";"
    if (file == 1) want[FNR] = row; else { got[FNR] = row; n = FNR } }
  END { bad = 0; for (i = 1; i <= n; i++) if (want[i] != got[i]) bad++
        printf "iterations %d (undisturbed %d), rows differing: %d\n", n, length(want), bad; exit (bad > 0 || n != length(want)) }
' "$out/undisturbed/metrics.jsonl" "$out/chaos/metrics.jsonl" && same=yes || same=no
echo "bit-identical to the undisturbed run: $same"

echo "== what each kill cost (from the supervisor's log)"
secs() { awk -F'[:.]' '{ print $1 * 3600 + $2 * 60 + $3 + $4 / 1000 }' <<< "$1"; }
main_log="$RLHF_LOG_DIR/${names[0]}.log"
printf '| node killed | after iteration | noticed after (s) | training resumed after (s) | resumed at iteration | iterations redone |\n'
printf '| --- | --- | --- | --- | --- | --- |\n'
mapfile -t times < <(tail -n +2 "$out/kills.md" | awk -F'|' '{ gsub(/ /, "", $5); print $5 }')
k=0
tail -n +2 "$out/kills.md" | while IFS='|' read -r _ _ node after when _; do
  node=$(echo "$node" | xargs); after=$(echo "$after" | xargs); when=$(echo "$when" | xargs)
  next=${times[$((k + 1))]:-99:99:99.999}
  k=$((k + 1))
  t0=$(secs "$when")
  # the supervisor pauses when a stateful role is lost, or restarts with its node; a lost rollout is only
  # marked unreachable while its chunk goes to the other engine
  noticed=$(grep -h "left the cluster; pausing\|Marking node as UNREACHABLE\|PPO run:" "$main_log" \
    | awk -v t="$when" -v u="$next" '$1 > t && $1 < u { print $1; exit }')
  resumed=$(grep -h "at iteration [0-9]*, weight version" "$main_log" \
    | awk -v t="$when" -v u="$next" '$1 > t && $1 < u { print; exit }')
  rtime=$(awk '{ print $1 }' <<< "$resumed"); rit=$(sed -E 's/.*at iteration ([0-9]+),.*/\1/' <<< "$resumed")
  n_s=$( [ -n "$noticed" ] && awk -v a="$(secs "$noticed")" -v b="$t0" 'BEGIN { printf "%.1f", a - b }' || echo "-")
  r_s=$( [ -n "$rtime" ] && awk -v a="$(secs "$rtime")" -v b="$t0" 'BEGIN { printf "%.1f", a - b }' || echo "- (no pause)")
  redo=$( [ -n "$rit" ] && echo $((after - rit)) || echo 0)
  printf '| %s | %s | %s | %s | %s | %s |\n' "$node" "$after" "$n_s" "$r_s" "${rit:--}" "$redo"
done
echo "logs: $RLHF_LOG_DIR   metrics: $out/chaos/metrics.jsonl"
[ "$rc" = 0 ] && [ "$same" = yes ]
