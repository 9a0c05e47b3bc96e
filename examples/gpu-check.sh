#!/usr/bin/env bash
# The GPU path in one command, on a machine with NVIDIA GPUs (the CPU-only CI never runs it):
#   1. CUDA forward = CPU forward of a small random model (fp32 logits within 1e-4),
#   2. an NCCL all-reduce over every visible GPU (sum checked, bus bandwidth printed),
#   3. three SFT steps at ZeRO-3 on 2 GPUs = the same steps on 1 GPU,
# then the CUDA-only tests (NcclCollectivesTest). Builds the gpu jar (libtorch's CUDA natives from Maven
# Central) into target-gpu/ first. Exit status 0 when every check passes.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader || true
mvn -B -q package -DskipTests -Pgpu
jar="$root/roles/target/rlhf-node.jar"
model="${MODEL:-$(mktemp -d)/gpu-check-model}"
if [ ! -f "$model/config.json" ]; then
  java -jar "$jar" init-model --output "$model" --hidden-size 512 --intermediate-size 1408 --layers 4 \
    --heads 8 --kv-heads 4 --vocab-size 32000 --seed 1 --tokenizer "$root/examples/tiny-llama" >/dev/null
fi
java -jar "$jar" gpu-check --model "$model"
mvn -B -q test -Pgpu -pl messages,runtime -Dtest=NcclCollectivesTest -Dsurefire.failIfNoSpecifiedTests=false
echo "gpu-check: all checks passed"
