#!/bin/bash
# Random patch orientations and ten times the steps on the regular validation split (default recipe inference),
# training seed $1; each run keeps its model in val-sweep/NAME-sSEED/run0 and its output in val-sweep/NAME-sSEED.jsonl.
# benchmarks/results/validation_orientation.md holds the outputs of seeds 0 and 1.
cd "$(dirname "$0")/.." && mkdir -p val-sweep
S=${1:-0}
run() {
  name=$1; O=$2
  [ -s val-sweep/$name-s$S.jsonl ] && return
  rm -rf val-sweep/$name-s$S
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python -m benchmarks.validation_split --kind regular --recipe --sides 10 --purity-power 0 \
    --intensity-axis --seed $S --override "$O" --keep val-sweep/$name-s$S > val-sweep/$name-s$S.tmp 2> val-sweep/$name-s$S.err \
    && mv val-sweep/$name-s$S.tmp val-sweep/$name-s$S.jsonl
}
run orient300 '{"data": {"random_orientation": true}}'
run base300 '{}'
run orient3000 '{"data": {"random_orientation": true}, "train": {"steps": 3000}}'
run base3000 '{"train": {"steps": 3000}}'
