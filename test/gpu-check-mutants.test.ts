/**
 * A mutation test of the GPU check (scripts/gpu-check.ts): each fault, injected alone into the
 * simulated device's kernels (PFC_SIM_MUTANT, sim/mutants.h), must make the check fail, while
 * the same sections pass without it. The sections named are those that should catch the fault;
 * the whole check runs them all (CI runs it in full: gpu-check.sh --simulate).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const check = join(here, '..', 'scripts', 'gpu-check.js');
const dir = mkdtempSync(join(tmpdir(), 'pfc-mutants-'));

const FAULTS: { fault: string; sections: string; what: string }[] = [
  { fault: 'no-idle-decay', sections: 'SGD', what: 'no idle-row decay' },
  { fault: 'tile-offset-by-one', sections: 'blind shapes', what: 'a tile offset off by one' },
  { fault: 'sum-for-max', sections: 'ops fp32', what: 'SUM instead of MAX in a reduction' },
  { fault: 'last-chunk-dropped', sections: 'blind shapes', what: 'the last tile (chunk of a split row) dropped' },
  { fault: 'no-catch-up', sections: 'SGD', what: 'no lazy catch-up' },
  { fault: 'transposed-gemm', sections: 'ops fp32', what: 'a transposed GEMM' },
  { fault: 'merge-drops-chunk', sections: 'blind shapes', what: 'a split-row merge that drops a chunk' },
  // A race: threads read shared memory another warp writes, with no barrier between.
  { fault: 'missing-barrier', sections: 'ops fp32', what: 'a missing barrier in a block reduction' },
];

function runCheck(sections: string, fault: string | undefined, name: string) {
  const out = join(dir, `${name}.json`);
  const env = { ...process.env, PFC_GPU_CHECK_BACKEND: 'cuda-sim', PFC_GPU_CHECK_SECTIONS: sections, PFC_SIM_MUTANT: fault ?? '' };
  const run = spawnSync(process.execPath, [check, out], { encoding: 'utf8', env, timeout: 600_000 });
  const verdict = JSON.parse(readFileSync(out, 'utf8')) as { outcome: string; simulated: boolean; passed: number; failed: number };
  return { run, verdict };
}

test('without a fault, the sections the faults are judged by pass on the simulated device', () => {
  const sections = [...new Set(FAULTS.map((f) => f.sections))].join(',');
  const { run, verdict } = runCheck(sections, undefined, 'clean');
  assert.equal(run.status, 0, run.stdout.split('\n').filter((l) => l.startsWith('FAIL')).join('\n') + run.stderr);
  assert.equal(verdict.simulated, true);
  assert.equal(verdict.failed, 0);
  assert.ok(verdict.passed >= 40, `${verdict.passed} checks passed`);
});

for (const f of FAULTS) {
  test(`the GPU check fails with ${f.what} (${f.fault}) injected`, () => {
    const { run, verdict } = runCheck(f.sections, f.fault, f.fault);
    assert.equal(run.status, 1, `exit ${run.status}: the check did not fail\n${run.stdout.slice(-2000)}`);
    assert.ok(verdict.failed > 0, 'no failed check recorded');
  });
}
