#!/usr/bin/env bash
# The communication model's fidelity check on CPU MPI ranks:
#   1. calibrate the interconnect with N ranks;  2. run each strategy in real mode on N ranks;
#   3. run the same cells emulated (rank 0 of N) with the calibrated profile;
#   4. compare each collective's modeled time with the measured one (pfc-bench fidelity).
# Everything lands in $OUT (profile.json, real.json, emulated.json, fidelity.json).
# Usage: scripts/fidelity.sh [OUT]   (N=4, MAX_BYTES=4MiB, STEPS=20 by default; run after npm run build)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-reports/fidelity}
N=${N:-4}
MAX_BYTES=${MAX_BYTES:-4MiB}
CLI=(node dist/src/cli.js)
# Open MPI in containers: root allowed, no cross-memory attach.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
MPIRUN=(mpirun --allow-run-as-root --oversubscribe -np "$N")
# Small enough for 2 CPU cores; every message of the step (the largest: data parallel's
# all-reduce of C x D floats = 2 MiB) lies inside the calibrated sizes.
CELLS=(--gpus "$N" --classes 8k --batch 256 --dim 64 --strategy model-parallel,partial-fc,data-parallel
       --steps "${STEPS:-20}" --warmup 2 --backend cpu --threads 1 --quiet --no-report)
mkdir -p "$OUT"
"${MPIRUN[@]}" "${CLI[@]}" calibrate --backend cpu --max-bytes "$MAX_BYTES" --out "$OUT/profile.json"
"${MPIRUN[@]}" "${CLI[@]}" run --mode real "${CELLS[@]}" --out "$OUT/real.json"
"${CLI[@]}" run --mode emulate --rank 0 --interconnect "$OUT/profile.json" "${CELLS[@]}" --out "$OUT/emulated.json"
"${CLI[@]}" fidelity "$OUT/real.json" "$OUT/emulated.json" --out "$OUT/fidelity.json"
