#!/usr/bin/env bash
# Our `bench` commands against PyTorch eager on the same machine and the same random 109.5M Llama (float32):
# decode at batch 1 and 8, prefill 8 x 64, a training step at 4 x 256 and 4 x 512 (AdamW, clipping), peak RSS.
# The peer is examples/bench_pytorch.py on Debian's python3-torch (`apt-get install python3-torch libopenblas0-pthread`: without OpenBLAS Debian's torch runs the reference BLAS, 20x slower); it must
# compute the same logits as ours (<= 1e-4) before anything is timed. Runs alternate (ours, peer, ours, ...).
# A benchmark, not a test: about 5 minutes per round on a 2-core machine.
#
# usage: examples/bench-vs-pytorch.sh [WORK_DIR]   env: JAR, PYTHON (/usr/bin/python3), THREADS (2), ROUNDS (2),
#        STEPS (2 timed training steps after one warm-up)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
JAR="${JAR:-$here/../roles/target/rlhf-node.jar}"
PYTHON="${PYTHON:-/usr/bin/python3}"
WORK="${1:-${TMPDIR:-/tmp}/bench-vs-pytorch}"
export THREADS="${THREADS:-2}"
# the settings our NativeEnvironment gives libtorch, for the peer too: passive OpenMP waits (active ones starve
# OpenBLAS's threads: 6.7 instead of 18.9 tok/s at batch-1 decode here) and glibc keeping freed blocks
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}" MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-33554432}"
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-1073741824}"
[ -f "$JAR" ] || { echo "no $JAR: build it first (mvn -q package -DskipTests)" >&2; exit 2; }
"$PYTHON" -c 'import torch' 2>/dev/null || { echo "$PYTHON has no torch: apt-get install python3-torch libopenblas0-pthread" >&2; exit 2; }
case "$(readlink -f /usr/lib/"$(uname -m)"-linux-gnu/libblas.so.3 2>/dev/null)" in
  *openblas*) ;;
  *) echo "warning: libblas.so.3 is not OpenBLAS; Debian's torch then runs the reference BLAS" >&2 ;;
esac
mkdir -p "$WORK"
MODEL="$WORK/llama-109m"
if [ ! -f "$MODEL/model.safetensors" ]; then
  java -jar "$JAR" init-model --output "$MODEL" --family llama --hidden-size 768 --layers 12 --heads 12 \
    --intermediate-size 2048 --vocab-size 32000 --tie-word-embeddings --seed 1
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)"
exec "$PYTHON" "$here/bench_pytorch.py" compare --model "$MODEL" --jar "$JAR" --work "$WORK" \
  --rounds "${ROUNDS:-2}" --steps "${STEPS:-2}"
