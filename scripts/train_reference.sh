#!/usr/bin/env bash
# Train the study's twelve reference models, one after another, with the
# study's recipe. Arguments go to every `pixelrnn train`, for example
# `--time-budget 20m` on a CPU; none are needed for the full recipe on a GPU.
# A run that already exists is resumed; a finished one is left as it is.
#
#   scripts/train_reference.sh                       # full recipe (GPU)
#   scripts/train_reference.sh --time-budget 20m     # 20 minutes each (CPU)
#   CHECKPOINTS=runs scripts/train_reference.sh      # somewhere else
set -u
checkpoints="${CHECKPOINTS:-checkpoints}"
models=(
    "pixel gru 1 128" "pixel gru 1 32" "pixel gru 1 64" "pixel gru 3 32"
    "classify gru 1 32" "classify gru 1 64" "classify gru 1 128" "classify gru 3 32"
    "classify lstm 1 32" "classify lstm 1 64" "classify lstm 1 128" "classify lstm 3 32"
)
status=0
for spec in "${models[@]}"; do
    read -r task cell layers units <<<"$spec"
    name="$task-$cell-${layers}x$units"
    resume=()
    if [ -e "$checkpoints/$name/resume.h5" ]; then
        resume=(--resume)
    fi
    echo "== $name"
    pixelrnn train --task "$task" --cell "$cell" --layers "$layers" \
        --units "$units" --checkpoints "$checkpoints" "${resume[@]}" "$@" || status=$?
done
exit "$status"
