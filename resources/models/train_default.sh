#!/usr/bin/env bash
# Train the bundled default IDFSR model, end to end, in one command:
#   resources/models/train_default.sh
# 1. prepares ../shared/data/train into aligned faces (CPU, once, in PREP_JOBS parallel
#    shards merged at the end; skipped when the dataset exists), leaving out the people
#    of bench/idfsr_heldout.txt (they measure the model in bench/idfsr_sizes.py and
#    bench/bench_operating_point.py), and embeds them with the bundled MobileFace,
# 2. trains with accelerate on every visible GPU (CPU works: the cpu-128r recipe is
#    made for it), resuming from the run folder's last checkpoint if there is one,
# 3. exports the EMA model (16-bit weights, with its model card) to
#    resources/models/idfsr-default.
#
# Settings (environment):
#   SRC       photos to train on           (default: ../shared/data/train)
#   WORK      datasets and runs go here    (default: runs)
#   CONFIG    training config              (default: cpu-128r, the bundled model's recipe;
#             see core/idfsr/configs)
#   SIZE      aligned crop side            (default: the config's size)
#   NUM_GPUS  processes for accelerate     (default: all GPUs nvidia-smi lists)
#   STEPS     override the config's steps  (default: the config's)
#   MINUTES   train from the start for this long instead, the schedule planned to end
#             on time (the bundled model: CONFIG=gpu-128r MINUTES=8.5 on one H200,
#             run there by core.idfsr.gpu_job from a `data pack` of $DATA)
#   LICENCE   licence of the photos, for the model card
#   PREP_JOBS parallel preparation processes  (default: the number of CPUs)
#   DEST      where the finished model goes (default: resources/models/idfsr-default)
# Several nodes: run this on each node with ACCELERATE_ARGS="--num_machines N
#   --machine_rank R --main_process_ip HOST --main_process_port PORT" and WORK on a
#   shared filesystem (checkpoints are written by the main process, read by all).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY="${PY:-$ROOT/.venv/bin/python}"
SRC="${SRC:-$ROOT/../shared/data/train}"
WORK="${WORK:-$ROOT/runs}"
CONFIG="${CONFIG:-cpu-128r}"
LICENCE="${LICENCE:-non-commercial research use only (UTKFace, CelebA, LFW: see ../shared/data/README.md)}"
SIZE="${SIZE:-$("$PY" -c "from core.idfsr.config import load_train_config as c; print(c('$CONFIG').size)")}"
DATA="$WORK/data-$SIZE"
RUN="$WORK/$(basename "$CONFIG" .json)"
DEST="${DEST:-$ROOT/resources/models/idfsr-default}"

if [ ! -f "$DATA/index.json" ]; then
  echo "== preparing $SRC -> $DATA (${SIZE}px, embedded face backend)"
  rm -rf "$DATA" "$DATA".shard-*
  JOBS="${PREP_JOBS:-$(nproc 2>/dev/null || echo 1)}"
  SHARDS=()
  PIDS=()
  for ((k = 0; k < JOBS; k++)); do
    # One home per process: each opens its own face-model caches and database.
    "$PY" -m core.idfsr --home "$WORK/home-$k" --face-backend embedded \
      data prepare "$SRC" "$DATA.shard-$k" --size "$SIZE" --licence "$LICENCE" \
      --min-face-ratio 0.35 --no-embed \
      --exclude "$ROOT/bench/idfsr_heldout.txt" --shard "$k/$JOBS" &
    SHARDS+=("$DATA.shard-$k")
    PIDS+=($!)
  done
  for pid in "${PIDS[@]}"; do wait "$pid"; done  # set -e: a failed shard stops here
  "$PY" -m core.idfsr --home "$WORK/home-0" data merge "${SHARDS[@]}" --out "$DATA"
  rm -rf "${SHARDS[@]}"
  # The identity space the model is conditioned on and trained against (bundled).
  "$PY" -m core.idfsr data embed "$DATA" --recognizer mobileface-v1
fi

if [ -z "${NUM_GPUS:-}" ]; then
  NUM_GPUS=$( (command -v nvidia-smi >/dev/null && nvidia-smi -L | grep -c GPU) || echo 0)
fi
TRAIN_ARGS=(train --data "$DATA" --config "$CONFIG" --out "$RUN")
[ -n "${STEPS:-}" ] && TRAIN_ARGS+=(--steps "$STEPS")
TIMED_ARGS=()
[ -n "${MINUTES:-}" ] && TIMED_ARGS=(--minutes "$MINUTES")

echo "== training $CONFIG on $NUM_GPUS GPU(s) -> $RUN"
if [ "$NUM_GPUS" -gt 1 ] || [ -n "${ACCELERATE_ARGS:-}" ]; then
  # shellcheck disable=SC2086  # ACCELERATE_ARGS is a list of flags
  "$PY" -m accelerate.commands.launch --multi_gpu --num_processes "$NUM_GPUS" \
    ${ACCELERATE_ARGS:-} -m core.idfsr "${TRAIN_ARGS[@]}" "${TIMED_ARGS[@]}"
else
  "$PY" -m core.idfsr "${TRAIN_ARGS[@]}" "${TIMED_ARGS[@]}"
fi

# A timed run may stop at its deadline a few steps short of its plan: export it anyway.
if [ -f "$RUN/model/diffusion_pytorch_model.safetensors" ] || [ -n "${MINUTES:-}" ]; then
  rm -rf "$DEST"
  # The EMA weights in 16 bits: half the download, computed in 32 when loaded.
  "$PY" -m core.idfsr "${TRAIN_ARGS[@]}" --export "$DEST" --half
  echo "== default model installed in $DEST (see its README.md)"
else
  echo "training stopped before the last step; run this script again to resume" >&2
  exit 1
fi
