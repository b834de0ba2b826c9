/**
 * The simulated device (backend cuda-sim: the .cu kernels compiled by the host compiler and run
 * on the CPU, native/src/sim): the op, strategy and memory tests run again on it, against the
 * same float64 references and memory model; its results are labelled and kept from compare.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const cli = join(root, 'dist', 'src', 'cli.js');

// Every op family, every strategy, update and logits mode, and the memory model per category.
const DEVICE_GENERIC = ['strategies', 'strategies-bf16', 'softmax', 'sgd', 'sampling', 'memory'];

// The fibers of a block run one at a time, which hides races: the kernels run with thread 0 first
// (forward), last (reverse) and in a fixed shuffle, against the same references. A kernel that
// reads what another thread writes without a barrier between gets another result in some order.
const SCHEDULES = ['forward', 'reverse', 'shuffle'];

for (const [name, schedule] of DEVICE_GENERIC.flatMap((n) => SCHEDULES.map((s) => [n, s] as const)).filter(([n, s]) => s === 'forward' || n !== 'memory')) {
  test(`${name}.test on the simulated device passes, with every test on it (${schedule} schedule)`, () => {
    const file = join(here, `${name}.test.js`);
    // A test runner of its own (NODE_TEST_CONTEXT would make it report to this one instead).
    const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
    const sim = spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], { encoding: 'utf8', env: { ...env, PFC_TEST_BACKEND: 'cuda-sim', PFC_SIM_SCHEDULE: schedule }, timeout: 600_000 });
    const count = (out: string, what: string) => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(out)?.[1] ?? NaN);
    assert.equal(sim.status, 0, `${name} on cuda-sim failed:\n${sim.stdout.split('\n').filter((l) => /^not ok|^\s+error:|^# (pass|fail)/.test(l)).join('\n')}\n${sim.stderr}`);
    assert.equal(count(sim.stdout, 'fail'), 0);
    assert.ok(count(sim.stdout, 'pass') > 0, 'no test ran');
    assert.equal(count(sim.stdout, 'skipped'), 0, 'a test skipped itself on the simulated device');
  });
}

test('the simulated device runs the kernels: launches counted, a CUDA device in the accounting, never chosen by auto', async () => {
  const probe = spawnSync(process.execPath, ['--input-type=module', '-e', `
    const { selectBackend, core } = await import(${JSON.stringify(join(root, 'dist', 'src', 'core', 'index.js'))});
    const { createStrategy, SyntheticBatch, validateFcConfig, MARGINS, DEFAULT_SGD } = await import(${JSON.stringify(join(root, 'dist', 'src', 'strategies', 'index.js'))});
    const { singleCommunicator } = await import(${JSON.stringify(join(root, 'dist', 'src', 'comm', 'local.js'))});
    const auto = selectBackend('auto').backend.name;
    const sim = selectBackend('cuda-sim').backend;
    const native = core();
    const before = native.simLaunchCount();
    const config = validateFcConfig({ strategy: 'partial-fc', sampleRate: 0.5, update: 'sparse', classes: 301, ranks: 1, batch: 8, dim: 16, margin: MARGINS.cosface, sgd: DEFAULT_SGD, seed: 1, dtype: 'bf16' });
    const s = createStrategy({ backend: sim, comm: singleCommunicator(), config, source: new SyntheticBatch(1, 301) });
    s.step(0, sim.createTimer());
    const used = native.memoryStats('cuda').current;
    const out = { auto, simulated: native.buildInfo().simulated, launches: native.simLaunchCount() - before, centresOnDevice: used.centres, name: sim.description, context: sim.context(), loss: s.loss() };
    s.dispose();
    console.log(JSON.stringify(out));
  `], { encoding: 'utf8' });
  assert.equal(probe.status, 0, probe.stderr);
  const out = JSON.parse(probe.stdout.trim().split('\n').at(-1)!);
  assert.notEqual(out.auto, 'cuda-sim', 'auto never picks the simulated device');
  assert.equal(out.simulated, true);
  assert.ok(out.launches >= 10, `a Partial FC step launched ${out.launches} kernels on the simulated device`);
  assert.equal(out.centresOnDevice, 301 * 16 * 4, 'the centres live on the (simulated) CUDA device');
  assert.match(out.name, /cuda-sim/);
  assert.equal(out.context.simulated, true);
  assert.ok(Number.isFinite(out.loss) && out.loss > 0, `bf16 step loss ${out.loss}`);
});

test('a run on the simulated device says its times mean nothing, and compare refuses to judge it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-sim-'));
  const out = join(dir, 'sim.json');
  const run = spawnSync(process.execPath, [cli, 'run', '--backend', 'cuda-sim', '--strategy', 'model-parallel', '--classes', '3000', '--gpus', '2', '--batch', '16', '--dim', '32', '--steps', '2', '--warmup', '1', '--no-report', '--out', out], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr + run.stdout);
  assert.match(run.stdout, /~ simulated device \(cuda-sim\): the CUDA kernels on the host CPU; its times mean nothing for a GPU/);
  const stepColumn = run.stdout.split('\n').find((l) => /model-parallel/.test(l) && /completed/.test(l));
  assert.ok(stepColumn && /\d~/.test(stepColumn), `the step time carries the ~ mark: ${stepColumn}`);
  const compare = spawnSync(process.execPath, [cli, 'compare', out, out], { encoding: 'utf8' });
  assert.equal(compare.status, 2, compare.stdout + compare.stderr);
  assert.match(compare.stderr + compare.stdout, /simulated device .* compare judges measured times only/);
  writeFileSync(join(dir, 'done'), '');
});

test('a kernel fault on the simulated device is a JavaScript error with the reason, and the process goes on', () => {
  // PFC_SIM_MUTANT=lane-exits: lane 1 leaves a block reduction before its warp shuffles.
  const probe = spawnSync(process.execPath, ['--input-type=module', '-e', `
    const { selectBackend, core, allocate } = await import(${JSON.stringify(join(root, 'dist', 'src', 'core', 'index.js'))});
    const gpu = selectBackend('cuda-sim').backend;
    const native = core();
    const B = 4, A = 100;
    const logits = allocate(gpu, 'logits', 'fp32', B, 128);
    const labels = allocate(gpu, 'workspace', 'int32', B, 1);
    native.fillRandom(logits, 1, 0, 0, 'uniform', -1, 1);
    native.fillLabels(labels, 2, 0, 0, A);
    const row = () => allocate(gpu, 'workspace', 'fp32', B, 1);
    const [targetCos, localMax, rowMax, rowSum, targetLogit] = [row(), row(), row(), row(), row()];
    let message = 'no error';
    try {
      native.marginSoftmaxStats({ logits, cols: A, labels, margin: { s: 64, m1: 1, m2: 0, m3: 0.4 }, targetCos, localMax, rowMax, rowSum, targetLogit });
      gpu.synchronize();
    } catch (error) {
      message = error.message;
    }
    native.fillRandom(logits, 3, 0, 0, 'uniform', -1, 1); // the next op still runs
    console.log(JSON.stringify({ message, after: Array.from(logits.view(0, 1).read()).slice(0, 2) }));
  `], { encoding: 'utf8', env: { ...process.env, PFC_SIM_MUTANT: 'lane-exits' } });
  assert.equal(probe.status, 0, probe.stderr);
  const out = JSON.parse(probe.stdout.trim().split('\n').at(-1)!);
  assert.match(out.message, /CUDA error cudaErrorLaunchFailure: unspecified launch failure \(simulated device: a warp shuffle reads lane 1, which is not live\)/);
  assert.ok(out.after.every((x: number) => Number.isFinite(x)), 'the op after the fault ran');
});
