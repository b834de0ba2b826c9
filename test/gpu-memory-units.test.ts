/**
 * --gpu-memory: GB is SI (10^9) and GiB binary, as documented; the run header echoes every
 * budget in both units, and a budget that is a GPU's marketed size in GB (which is GiB on the
 * card: an "A100 80GB" has 80 GiB) is warned about (issue 21).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesInBothUnits, gpuMemoryUnitWarning, parseBytes } from '../src/bench/fields.js';
import { budgetHeader, planRun } from '../src/run-args.js';
import { CLI } from './fixtures/report-helpers.js';

test('GB is 10^9 bytes and GiB 2^30, and both are echoed', () => {
  assert.equal(parseBytes('--gpu-memory', '80GB'), 80e9);
  assert.equal(parseBytes('--gpu-memory', '80GiB'), 80 * 2 ** 30);
  assert.equal(bytesInBothUnits(80e9), '80 GB = 74.51 GiB (80,000,000,000 bytes; GB = 10^9, GiB = 2^30)');
  assert.equal(bytesInBothUnits(80 * 2 ** 30), '85.9 GB = 80 GiB (85,899,345,920 bytes; GB = 10^9, GiB = 2^30)');
});

test('a marketed GPU size given in GB is warned about; GiB, odd sizes and byte counts that are not such sizes are not', () => {
  const warning = gpuMemoryUnitWarning(80e9);
  assert.ok(warning);
  assert.match(warning, /--gpu-memory 80GB is 80 x 10\^9 bytes \(74\.51 GiB\)/);
  assert.match(warning, /A100 80GB/);
  assert.match(warning, /give --gpu-memory 80GiB/);
  for (const gb of [11, 16, 24, 32, 40, 48]) assert.ok(gpuMemoryUnitWarning(gb * 1e9), `${gb}GB`);
  for (const bytes of [80 * 2 ** 30, 11 * 2 ** 30, 33e9, 80e9 + 1, 0]) assert.equal(gpuMemoryUnitWarning(bytes), undefined, String(bytes));
});

test('planRun budgets give the header both units and the warnings, once per distinct budget', () => {
  const plan = planRun('capacity', ['--gpu-memory', '80GB,80GiB', '--gpus', '8'])!;
  const { header, warnings } = budgetHeader(plan.specs);
  assert.match(header, /80 GB = 74\.51 GiB/);
  assert.match(header, /85\.9 GB = 80 GiB/);
  assert.equal(warnings.length, 1);
  assert.deepEqual(budgetHeader(planRun('run', ['--classes', '1k'])!.specs), { header: '', warnings: [] }, 'no budget, nothing said');
});

test('the CLI prints the budget in both units and the warning before any cell runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-gib-'));
  try {
    const r = spawnSync(process.execPath, [CLI, 'run', '--classes', '2k', '--gpus', '2', '--batch', '8', '--dim', '8', '--steps', '1', '--gpu-memory', '40GB', '--out', join(dir, 'r.json'), '--no-report'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stderr.split('\n');
    const header = lines.findIndex((l) => l.includes('per-GPU memory budget 40 GB = 37.25 GiB'));
    const warning = lines.findIndex((l) => l.startsWith('pfc-bench: warning: --gpu-memory 40GB is 40 x 10^9 bytes'));
    const firstCell = lines.findIndex((l) => l.startsWith('[cell 1/1]'));
    assert.ok(header >= 0 && warning > header && firstCell > warning, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
