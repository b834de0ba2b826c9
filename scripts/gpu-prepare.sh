#!/usr/bin/env bash
# Prepares, on this (CPU) machine, everything scripts/gpu-check.sh needs on a lent GPU machine
# (a GPU host with only the driver and pip's nvidia wheels: no Node.js, no OpenBLAS, no MPI
# there; at most 64 MiB may be carried to it):
#   .gpu/bundle.tar.xz  the addon built with the CUDA backend (its CPU kernels dispatch to the host CPU's SIMD),
#                  with OpenBLAS and its libraries beside it (scripts/bundle.sh) and the MPI
#                  plugin (packed: OpenBLAS alone is 35 MB);
#   .gpu/node.xz   this machine's node binary;
#   dist/          the compiled TypeScript.
# Then, with the device tool, one call:
#   run  carry: [".gpu", "dist", "node_modules/tinybench"]
#        command: bash scripts/gpu-check.sh --expect-gpu
#        timeout_s: 540
set -euo pipefail
cd "$(dirname "$0")/.."
npx cmake-js compile --out build-gpu
# A bundle without the CUDA backend (nvcc not found here) could only say "no CUDA device" there.
if [ "$(node -e 'process.stdout.write(String(require(process.argv[1]).buildInfo().cuda))' "$PWD/build-gpu/Release/pfc_core.node")" != "true" ]; then
  echo "gpu-prepare: the build has no CUDA backend (nvcc was not found: put it on PATH or set CUDACXX, then run again)" >&2
  exit 1
fi
npx tsc -p tsconfig.json
rm -rf .gpu && mkdir -p .gpu
bash scripts/bundle.sh build-gpu/Release build-gpu/bundle
tar -C build-gpu -cf - bundle | xz -T2 -9 > .gpu/bundle.tar.xz
xz -T2 -c "$(command -v node)" > .gpu/node.xz
du -sh .gpu/bundle.tar.xz .gpu/node.xz dist node_modules/tinybench
du -sch .gpu dist node_modules/tinybench | tail -1
echo 'gpu-prepare: now run  carry [".gpu", "dist", "node_modules/tinybench"]  command "bash scripts/gpu-check.sh --expect-gpu"  timeout_s 540'
