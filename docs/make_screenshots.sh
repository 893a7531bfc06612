#!/usr/bin/env bash
# Regenerate the README's screenshots of the window (works with no display).
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/screenshots
shot() { visualconv "sample_models/$1.json" --screenshot "$out/$2.png" --size 1600x1000 "${@:3}"; }
shot 01-seed-1d-conv seed-1d-forward --pass forward --step 1
shot 01-seed-1d-conv seed-1d-backward --pass backward --step 2
shot 02-seed-2d-conv seed-2d-backward --pass backward --step 6
shot 06-max-pool-overlapping max-pool-overlapping-backward --pass backward --step 5
shot 08-avg-pool-overlapping avg-pool-overlapping-backward --pass backward --step 3
shot 09-stride-padding stride-padding-backward --pass backward --step 5
shot 04-multichannel-activation multichannel-forward --layer 0 --pass forward --step 7
shot 12-small-cnn-cross-entropy small-cnn-backward --layer 2 --pass backward --step 5

# The user guide's pictures (docs/user-guide.md, shown by Help > User guide).
out=docs/images
mkdir -p "$out"
guide() { visualconv "sample_models/$1.json" --screenshot "$out/$2.png" --size 1400x900 "${@:3}"; }
guide 01-seed-1d-conv window-seed-1d-forward --pass forward --step 1
guide 01-seed-1d-conv window-seed-1d-backward --pass backward --step 2
guide 02-seed-2d-conv window-seed-2d-backward --pass backward --step 5
guide 06-max-pool-overlapping window-max-pool --pass backward --step 3
guide 12-small-cnn-cross-entropy window-loss --layer 4 --pass backward --step 0
guide 20-learning-a-kernel window-training --show training
visualconv sample_models/01-seed-1d-conv.json --screenshot "$out/window-presentation.png" --size 1280x720 \
  --presentation --pass backward --step 1
