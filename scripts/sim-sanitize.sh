#!/usr/bin/env bash
# The simulated device under AddressSanitizer and UndefinedBehaviorSanitizer (CI; any machine):
# builds pfc_sim.node alone with -fsanitize=address,undefined in build-sanitize/ (about 3 min on
# two cores), then runs the op, strategy and memory tests on it (PFC_TEST_BACKEND=cuda-sim). Node
# itself is not instrumented, so the sanitizer runtimes are preloaded; leak detection is off (it
# would report Node's own allocations). Any out-of-bounds access, use after free or undefined
# behaviour in a kernel, the simulator or the CPU code aborts the test with the sanitizer's report.
set -euo pipefail
cd "$(dirname "$0")/.."
npx cmake-js compile --out build-sanitize --CDPFC_WITH_CUDA=OFF --CDPFC_WITH_MPI=OFF \
  --CDPFC_SIM_SANITIZE=address,undefined -T pfc_sim > build-sanitize.log 2>&1 || { tail -30 build-sanitize.log; exit 2; }
addon=$PWD/build-sanitize/Release/pfc_sim.node
# The build really is instrumented (a silent fallback would make this check prove nothing).
# (grep -c reads all of nm's output: grep -q would stop early, and pipefail would see nm's SIGPIPE.)
if [ "$(nm -D --undefined-only "$addon" | grep -c '__asan_init')" -eq 0 ]; then echo "sim-sanitize: $addon is not instrumented"; exit 2; fi
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export PFC_SIM_CORE_PATH=$addon PFC_TEST_BACKEND=cuda-sim
status=0
for t in softmax sgd sampling strategies strategies-bf16 memory; do
  node --test --test-concurrency=1 "dist/test/$t.test.js" > "build-sanitize/$t.tap" 2>&1 || status=1
  echo "sim-sanitize: $t: $(grep -E '^# (pass|fail) ' "build-sanitize/$t.tap" | tr '\n' ' ')"
  grep -E -A20 'ERROR: AddressSanitizer|runtime error' "build-sanitize/$t.tap" | head -40 || true
done
exit $status
