#!/usr/bin/env bash
# The prepared check for a lent GPU machine (only the driver and pip's nvidia wheels
# there: no Node.js, no OpenBLAS, no MPI; at most 64 MiB carried to it), in one call:
#   prepare here:  bash scripts/gpu-prepare.sh
#   device tool:   run  carry: [".gpu", "dist", "node_modules/tinybench"]
#                       command: bash scripts/gpu-check.sh --expect-gpu   timeout_s: 540
# It writes JSON under $OUT (reports/gpu without one) and prints a short table last; commit
# the JSON under reports/gpu/ and re-render reports here with `pfc-bench report`.
#
# Outcomes, each with its own line and exit code:
#   1. the addon or a library it needs failed to load: "gpu-check: LOAD FAILED: <loader's
#      message>", exit 2; or the addon was built without the CUDA backend (nvcc missing where
#      it was built): "gpu-check: NO CUDA BACKEND", exit 2;
#   2. no CUDA device: "gpu-check: no CUDA device (<why>)", exit 0, or exit 1 with
#      --expect-gpu (on a lent GPU machine a missing device is a failure, not a pass);
#   3. ran: a pass/fail line per check, then the benchmarks; exit 0 when every check passed
#      and every benchmark cell completed, else 1.
#
# --simulate (CI, any machine): every check on the simulated device (backend cuda-sim: the .cu
# kernels on the host CPU, cuBLAS by OpenBLAS, a one-rank NCCL) and a reduced set of small cells,
# written under $OUT or reports/gpu-sim. It proves the kernels' logic, indexing, synchronisation
# and memory accounting; never speed, the GPU's memory model, the driver or the real libraries.
set -uo pipefail
EXPECT_GPU=0
SIMULATE=0
for arg in "$@"; do
  case "$arg" in
    --expect-gpu) EXPECT_GPU=1 ;;
    --simulate) SIMULATE=1 ;;
    *) echo "gpu-check: unknown option '$arg' (expected --expect-gpu or --simulate)"; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
if [ "$SIMULATE" -eq 1 ]; then
  OUT_DIR=${OUT:-reports/gpu-sim}
  mkdir -p "$OUT_DIR"
  export PFC_GPU_CHECK_BACKEND=cuda-sim
  status=0
  node dist/scripts/gpu-check.js "$OUT_DIR/gpu-check.json" 2>&1 | tee "$OUT_DIR/gpu-check.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  # Small cells through the CLI, each in its own process (a kernel fault fails its cell alone):
  # every strategy and update, fp32 and bf16, materialized and fused logits, and real mode over
  # the one-rank NCCL stand-in. Their times are the simulator's and mean nothing.
  sim_run() { node dist/src/cli.js run --backend cuda-sim --no-report --quiet --cell-timeout 300 --steps 2 --warmup 1 --trials 1 "$@" || status=1; }
  sim_run --strategy model-parallel,partial-fc,data-parallel --classes 20k --gpus 8 --batch 64 --dim 128 --out "$OUT_DIR/cells-fp32.json"
  sim_run --strategy partial-fc --update sparse,dense,lazy-dense --classes 20k --gpus 8 --batch 64 --dim 128 --dtype bf16 --logits fused --out "$OUT_DIR/cells-bf16-fused.json"
  timeout -k 10 300 node dist/src/cli.js run --backend cuda-sim --no-report --quiet --mode real --gpus 1 --strategy partial-fc \
    --classes 20k --batch 64 --dim 128 --steps 2 --warmup 1 --trials 1 --out "$OUT_DIR/real-nccl-one-rank.json" || status=1
  echo "gpu-check: simulated device, checks $(grep -h -E '^[0-9]+ passed, [0-9]+ failed' "$OUT_DIR/gpu-check.log" || echo 'did not finish'); cells $([ "$status" -eq 0 ] && echo 'all completed' || echo 'FAILED')"
  exit $status
fi
OUT_DIR=${OUT:-reports/gpu}
mkdir -p "$OUT_DIR"
if [ -f .gpu/node.xz ] && ! node --version >/dev/null 2>&1; then
  xz -dc .gpu/node.xz > /tmp/node && chmod +x /tmp/node && export PATH=/tmp:$PATH
fi
for lib in /opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib /opt/torch/.venv/lib/python3.12/site-packages/nvidia/nccl/lib; do
  [ -d "$lib" ] && export LD_LIBRARY_PATH="$lib:${LD_LIBRARY_PATH:-}"
done
# The bundle when one was carried, else this checkout's build (PFC_CORE_PATH wins over both).
if [ -z "${PFC_CORE_PATH:-}" ]; then
  if [ -f .gpu/bundle.tar.xz ]; then
    rm -rf /tmp/pfc-gpu && mkdir -p /tmp/pfc-gpu && xz -dc .gpu/bundle.tar.xz | tar -C /tmp/pfc-gpu -xf -
    export PFC_CORE_PATH=/tmp/pfc-gpu/bundle/pfc_core.node
  else
    export PFC_CORE_PATH=$PWD/build/Release/pfc_core.node
  fi
fi

# Outcome 1: the addon must load (a failure here is not "no GPU").
if ! load_error=$(node -e 'require(process.argv[1])' "$PFC_CORE_PATH" 2>&1); then
  message=$(printf '%s\n' "$load_error" | grep -m1 -E 'Error:|cannot open|not found|No such' || printf '%s\n' "$load_error" | head -1)
  echo "gpu-check: LOAD FAILED: $PFC_CORE_PATH did not load: $message"
  node -e 'require("fs").writeFileSync(process.argv[1], JSON.stringify({ outcome: "load-failed", addon: process.argv[2], message: process.argv[3] }, null, 1))' \
    "$OUT_DIR/gpu-check.json" "$PFC_CORE_PATH" "$load_error" 2>/dev/null
  exit 2
fi
node dist/src/cli.js info --json > "$OUT_DIR/info.json"
node dist/src/cli.js info
if [ "$(node -e 'process.stdout.write(String(require(process.argv[1]).buildInfo().cuda))' "$PFC_CORE_PATH")" != "true" ]; then
  echo "gpu-check: NO CUDA BACKEND: $PFC_CORE_PATH was built without nvcc, so nothing here can run on a GPU; build the bundle with scripts/gpu-prepare.sh on a machine with nvcc"
  node -e 'require("fs").writeFileSync(process.argv[1], JSON.stringify({ outcome: "no-cuda-backend", addon: process.argv[2] }, null, 1))' "$OUT_DIR/gpu-check.json" "$PFC_CORE_PATH"
  exit 2
fi

# Outcome 2: no usable CUDA device.
reason=$(node -e 'const p = require(process.argv[1]).cudaProbe(); process.stdout.write(p.usable ? "" : p.reason)' "$PFC_CORE_PATH")
if [ -n "$reason" ]; then
  echo "gpu-check: no CUDA device ($reason); nothing ran."
  node -e 'require("fs").writeFileSync(process.argv[1], JSON.stringify({ outcome: "no-device", reason: process.argv[2], expected: process.argv[3] === "1" }, null, 1))' "$OUT_DIR/gpu-check.json" "$reason" "$EXPECT_GPU"
  if [ "$EXPECT_GPU" -eq 1 ]; then
    echo "gpu-check: FAILED: a GPU was expected (--expect-gpu) and none is usable"
    exit 1
  fi
  exit 0
fi

# Outcome 3: the checks, then the benchmarks.
status=0
node dist/scripts/gpu-check.js "$OUT_DIR/gpu-check.json" 2>&1 | tee "$OUT_DIR/gpu-check.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
# Every emulated cell runs in its own process, killed past --cell-timeout (status timeout) so a
# hung cell costs minutes, not the machine's whole lease.
run() { node dist/src/cli.js run --backend cuda --no-report --quiet --cell-timeout 120 "$@" || status=1; }
# Real mode over NCCL, one rank, no launcher and no MPI here: the communicator and measured
# communication of the real runner (NCCL refuses two ranks on one GPU). Real mode runs its cells
# in this process, so the whole command gets the time limit.
timeout -k 10 180 node dist/src/cli.js run --backend cuda --no-report --quiet --mode real --gpus 1 --strategy partial-fc \
  --classes 1M --batch 1024 --steps 5 --out "$OUT_DIR/real-nccl-one-rank.json"
real_status=$?
if [ "$real_status" -ne 0 ]; then
  echo "gpu-check: the real-mode NCCL cell failed (exit $real_status; 124 = killed after 180 s)"
  status=1
fi
run --scenario seed --out "$OUT_DIR/seed-cuda.json" --steps 10 --warmup 3 --trials 3
run --scenario anchors-h200 --out "$OUT_DIR/anchors-h200-fp32.json" --dtype fp32
run --scenario anchors-h200 --out "$OUT_DIR/anchors-h200-bf16.json" --dtype bf16
echo "gpu-check: summary (step, ratio to the GEMM floor, peak vs model vs device, phases in ms)"
node dist/scripts/gpu-summary.js "$OUT_DIR"/real-nccl-one-rank.json "$OUT_DIR"/seed-cuda.json "$OUT_DIR"/anchors-h200-fp32.json "$OUT_DIR"/anchors-h200-bf16.json
echo "gpu-check: checks $(grep -h -E '^[0-9]+ passed, [0-9]+ failed' "$OUT_DIR/gpu-check.log" || echo 'did not finish')"
exit $status
