#!/usr/bin/env bash
# One prepared run for a GPU machine (see ../shared/device.md): correctness of every op and of
# every strategy on CUDA against the CPU backend, then the benchmarks of issue 4 (the seed
# scenario and the 1M / 29M rows of anchors.md section 4, emulated on the GPU, fp32 and bf16),
# with results JSON under $OUT (or reports/gpu). Without a CUDA device it says so and exits 0.
#
# On the lent H200: run scripts/gpu-prepare.sh here first (it builds build-gpu for a generic
# x86-64-v3 CPU and packs node into .gpu/), then carry .gpu, build-gpu, dist and
# node_modules/tinybench and run this script there.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${OUT:-reports/gpu}
mkdir -p "$OUT_DIR"
if [ -f .gpu/node.xz ] && ! command -v node >/dev/null 2>&1; then
  xz -dc .gpu/node.xz > /tmp/node && chmod +x /tmp/node && export PATH=/tmp:$PATH
fi
for lib in /opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib /opt/torch/.venv/lib/python3.12/site-packages/nvidia/nccl/lib; do
  [ -d "$lib" ] && export LD_LIBRARY_PATH="$lib:${LD_LIBRARY_PATH:-}"
done
[ -f build-gpu/Release/pfc_core.node ] && export PFC_CORE_PATH=$PWD/build-gpu/Release/pfc_core.node
if ! node -e "process.exit(require('${PFC_CORE_PATH:-./build/Release/pfc_core.node}').cudaProbe().usable ? 0 : 3)"; then
  node dist/scripts/gpu-check.js "$OUT_DIR/gpu-check.json"
  echo "gpu-check: no CUDA device here; skipped the GPU benchmarks."
  exit 0
fi
status=0
node dist/scripts/gpu-check.js "$OUT_DIR/gpu-check.json" || status=1
run() { node dist/src/cli.js run --backend cuda --no-report --quiet "$@"; }
# NCCL's API path: a one-rank communicator in real mode (NCCL refuses two ranks on one GPU).
run --mode real --gpus 1 --strategy partial-fc --classes 100k --batch 256 --steps 3 --out "$OUT_DIR/nccl-one-rank.json" || status=1
run --scenario seed --out "$OUT_DIR/seed-cuda.json" --steps 10 --warmup 3 --trials 3 || status=1
run --scenario bench/scenarios/anchors-h200.json --out "$OUT_DIR/anchors-h200-fp32.json" --dtype fp32 || status=1
run --scenario bench/scenarios/anchors-h200.json --out "$OUT_DIR/anchors-h200-bf16.json" --dtype bf16 || status=1
# A short table last (re-render the full report on the CPU machine with `pfc-bench report`).
for f in "$OUT_DIR"/seed-cuda.json "$OUT_DIR"/anchors-h200-*.json; do
  [ -f "$f" ] && node -e "
    const r = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
    for (const c of r.cells) console.log([c.spec.label, c.spec.strategy + (c.spec.logits === 'fused' ? ' fused' : ''), c.spec.dtype, c.status,
      c.timing ? c.timing.stepMs.median.toFixed(2) + ' ms' : '-', c.reference ? c.reference.stepOverGemm.toFixed(2) + 'x GEMMs' : '-',
      c.memory ? (c.memory.peakBytes / 1e6).toFixed(0) + ' MB' : '-'].join('  '));" "$f"
done
exit $status
