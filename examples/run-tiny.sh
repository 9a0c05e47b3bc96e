#!/usr/bin/env bash
# The bundled tiny pipeline on CPU (about two minutes on 2 cores, plus the first build):
# SFT the random tiny Llama on "Name a <category>." → reward model on preference pairs → DPO from the
# SFT model → best-of-4 rejection sampling scored by the RM → greedy answers of each stage.
# Everything lands in ${OUT:-out/tiny}; metrics.jsonl and report.html are in each stage's directory.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jar="$root/roles/target/rlhf-node.jar"
out="${OUT:-$root/out/tiny}"
if [ ! -f "$jar" ]; then
  (cd "$root" && mvn -B -q package -DskipTests)
fi
rlhf() { java -jar "$jar" "$@"; }
data="$root/examples/data"
common=(--apply_chat_template --max_len 64 --threads 2 --lr_warmup_ratio 0.03)

echo "== 1/4 SFT"
rlhf train sft --pretrain "$root/examples/tiny-llama" --dataset "$data/sft.jsonl" --input_key input \
  --output_key output --save_path "$out/sft" --micro_train_batch_size 8 --train_batch_size 8 \
  --learning_rate 2e-3 --max_epochs 8 --eval_split 0.05 --logging_steps 25 "${common[@]}"
echo "== 2/4 reward model"
rlhf train rm --pretrain "$out/sft" --dataset "$data/preference.jsonl" --prompt_key prompt \
  --save_path "$out/rm" --micro_train_batch_size 8 --train_batch_size 16 --learning_rate 1e-3 \
  --eval_split 0.1 --logging_steps 10 "${common[@]}"
echo "== 3/4 DPO"
rlhf train dpo --pretrain "$out/sft" --dataset "$data/preference.jsonl" --prompt_key prompt \
  --save_path "$out/dpo" --micro_train_batch_size 8 --train_batch_size 16 --learning_rate 5e-4 --nll_loss_coef 0.5 \
  --beta 0.1 --eval_split 0.1 --logging_steps 10 "${common[@]}"
echo "== 4/4 rejection sampling (best of 4, scored by the RM)"
rlhf rejection-sample --pretrain "$out/sft" --reward_pretrain "$out/rm" --dataset "$data/prompts.jsonl" \
  --input_key input --apply_chat_template --n_samples_per_prompt 4 --generate_max_len 24 \
  --temperature 1.0 --output "$out/best_of_4.jsonl" --threads 2

for stage in sft dpo; do
  for c in fruit vehicle drink; do
    printf '%-4s %-18s ' "$stage" "Name a $c." 
    rlhf generate --model "$out/$stage" --prompt "Name a $c." --chat --greedy --max-new-tokens 24 \
      | sed -E 's/.*"text":"([^"]*)".*/\1/'
  done
done
echo "reports: $out/{sft,rm,dpo}/report.html"
