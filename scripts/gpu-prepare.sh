#!/usr/bin/env bash
# Prepares, on this (CPU) machine, what scripts/gpu-check.sh needs on a lent GPU machine that
# has no Node.js: the addon built for a generic x86-64-v3 host CPU with the CUDA backend
# (build-gpu/), the compiled TypeScript (dist/), and this machine's node binary (.gpu/node.xz).
# Then, with the device tool:
#   run  carry: [".gpu", "build-gpu", "dist", "node_modules/tinybench"]
#        command: bash scripts/gpu-check.sh
# (about 50 MB travels; the report step is skipped there, re-render here with `pfc-bench report`).
set -euo pipefail
cd "$(dirname "$0")/.."
npx cmake-js compile --out build-gpu --CDPFC_CPU_ARCH=x86-64-v3
npx tsc -p tsconfig.json
mkdir -p .gpu
xz -T2 -c "$(command -v node)" > .gpu/node.xz
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
du -sh .gpu build-gpu/Release/pfc_core.node dist node_modules/tinybench
