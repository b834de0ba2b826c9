/**
 * The sweep executor's statuses and lifecycle: a cell killed by a signal is 'killed' (with the
 * signal), one past --cell-timeout is 'timeout'; --resume runs again every cell that did not
 * complete (unless --keep names its status); a dying parent takes its cell with it and leaves
 * no /tmp/pfc-cell-* folder; one step time throughout a cell's result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { runSweep } from '../src/bench/sweep.js';
import { childProcessExecutor, runCellInChild } from '../src/bench/runner.js';
import { Progress } from '../src/bench/progress.js';
import { expandScenario } from '../src/bench/scenario.js';
import { runContext } from '../src/bench/context.js';
import { parseResultsFile, type CellResult, type CellSpec, type ResultsFile } from '../src/bench/results.js';
import { cellId, runCell } from '../src/bench/cell.js';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function tiny(fields: Record<string, unknown> = {}): CellSpec {
  const scenario = { name: 't', description: '', defaults: { classes: 2000, gpus: 4, batch: 16, dim: 8, steps: 2, warmup: 0, backend: 'cpu', threads: 1 }, cells: [fields] };
  return expandScenario(scenario)[0];
}

function silent(): Progress {
  return new Progress(new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream, true);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean, seconds = 30): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a cell killed by a signal is recorded as killed, with the signal, not as oom', async () => {
  // Many steps, so the cell is still running when the signal comes.
  const spec = tiny({ steps: 100000 });
  let killedOnce = false;
  let pid = 0;
  const result = await runCellInChild(spec, { cellTimeoutSeconds: 0, onSpawn: (p) => (pid = p) }, (p) => {
    if (!killedOnce && p.phase === 'measure') {
      killedOnce = true;
      process.kill(pid, 'SIGTERM');
    }
  });
  assert.equal(result.status, 'killed', result.error);
  assert.equal(result.signal, 'SIGTERM');
  assert.match(result.error ?? '', /killed by SIGTERM/);
});

test('a cell past --cell-timeout is recorded as timeout', async () => {
  const result = await runCellInChild(tiny({ steps: 1_000_000 }), { cellTimeoutSeconds: 1 }, () => undefined);
  assert.equal(result.status, 'timeout', result.error);
  assert.match(result.error ?? '', /--cell-timeout 1s/);
});

test('--resume runs again every cell that did not complete; --keep keeps the statuses named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-resume-'));
  const out = join(dir, 'r.json');
  const specs = [2000, 2400, 2800, 3200, 3600].map((classes) => tiny({ classes }));
  const statuses = ['completed', 'oom', 'killed', 'timeout', 'error'] as const;
  const previous: ResultsFile = {
    schema: 'pfc-bench/results',
    schemaVersion: 2,
    scenario: { name: 't', description: '', overrides: {} },
    context: runContext({ test: true }),
    cells: specs.map((spec, i): CellResult => ({ id: cellId(spec), status: statuses[i], spec, startedAt: `previous-${i}` })),
  };
  writeFileSync(out, JSON.stringify(previous));
  const options = { outPath: out, scenario: previous.scenario, context: previous.context, resume: true, progress: silent() };
  const executor = childProcessExecutor({ cellTimeoutSeconds: 120 });
  const again = await runSweep(specs, executor, options);
  assert.deepEqual(again.cells.map((c) => c.status), ['completed', 'completed', 'completed', 'completed', 'completed']);
  assert.equal(again.cells[0].startedAt, 'previous-0', 'the completed cell is kept');
  assert.ok(again.cells.slice(1).every((c) => !c.startedAt?.startsWith('previous')), 'every other cell ran again');

  writeFileSync(out, JSON.stringify(previous));
  const keeping = await runSweep(specs, executor, { ...options, keep: ['oom'] });
  assert.equal(keeping.cells[1].startedAt, 'previous-1', '--keep oom keeps the oom cell');
  assert.equal(keeping.cells[1].status, 'oom');
  assert.ok(keeping.cells.slice(2).every((c) => c.status === 'completed'));
  const onDisk = parseResultsFile(readFileSync(out, 'utf8'), out);
  assert.equal(onDisk.cells.length, 5);
  // A kept cell is written too, even when no cell runs after it.
  writeFileSync(out, JSON.stringify(previous));
  await runSweep(specs.slice(0, 1), executor, options);
  assert.deepEqual(parseResultsFile(readFileSync(out, 'utf8'), out).cells.map((c) => c.startedAt), ['previous-0']);
});

for (const signal of ['SIGINT', 'SIGKILL'] as const) {
  test(`a parent ended by ${signal} takes its running cell with it and leaves no /tmp/pfc-cell-* folder`, async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'pfc-parent-'));
    const parent = spawn(process.execPath, [cli, 'run', '--classes', '2000', '--gpus', '4', '--batch', '16', '--dim', '8', '--steps', '1000000', '--warmup', '0', '--backend', 'cpu', '--threads', '1', '--out', join(scratch, 'r.json'), '--no-report', '--quiet'], {
      env: { ...process.env, TMPDIR: scratch },
      stdio: 'ignore',
    });
    const cellFolders = () => readdirSync(scratch).filter((f) => f.startsWith('pfc-cell-'));
    await until('the cell to start', () => cellFolders().length === 1);
    let child = 0;
    await until('the cell process', () => {
      const ps = spawnSync('ps', ['-o', 'pid=', '--ppid', String(parent.pid)], { encoding: 'utf8' }).stdout.trim();
      child = Number(ps.split('\n')[0]);
      return child > 0;
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => parent.on('exit', (_code, how) => resolve(how)));
    parent.kill(signal);
    assert.equal(await exited, signal, 'the parent dies of the signal it was sent');
    await until('the cell process to end', () => !alive(child), 20);
    await until('its folder to be removed', () => cellFolders().length === 0, 20);
    assert.equal(existsSync(join(scratch, 'r.json')), true, 'the results file was written before the cell');
  });
}

test('one step time: the spread, the median, images/s and the phases agree (emulated rank, modeled communication)', () => {
  const spec = tiny({ steps: 5, interconnect: 'pcie-gen3' });
  const result = runCell(spec);
  const t = result.timing!;
  assert.equal(t.communication, 'modeled');
  assert.ok(t.modeledCommMs > 0);
  assert.equal(t.phasesMs.communication, t.modeledCommMs, 'the communication phase is the modeled time, counted once');
  assert.equal(t.totalMs, t.stepMs.median);
  assert.ok(t.stepMs.p10 <= t.stepMs.median && t.stepMs.median <= t.stepMs.p90, 'the median lies inside its own spread');
  assert.ok(t.stepMs.min >= t.modeledCommMs, 'every step includes the modeled communication');
  assert.ok(Math.abs(t.imagesPerSecond - spec.batch / (t.stepMs.median / 1000)) < 1e-6 * t.imagesPerSecond, 'images/s = batch / step time');
});

test('a strategy that runs out of memory half way through its buffers frees what it had allocated', async () => {
  const { core } = await import('../src/core/binding.js');
  const { createStrategy, SyntheticBatch } = await import('../src/strategies/index.js');
  const { singleCommunicator } = await import('../src/comm/local.js');
  const { testBackend } = await import('./helpers.js');
  const backend = testBackend();
  const spec = expandScenario({ name: 't', description: '', defaults: {}, cells: [{ mode: 'single', classes: 1000, batch: 8, dim: 16, strategy: 'model-parallel' }] })[0];
  const before = core().memoryStats('cpu').total;
  // Room for the centres (64000 bytes) but not for everything after them.
  core().setMemoryBudget('cpu', before + 70_000);
  try {
    assert.throws(() => createStrategy({ backend, comm: singleCommunicator(), config: spec, source: new SyntheticBatch(1, spec.classes) }), /out of memory/);
  } finally {
    core().setMemoryBudget('cpu', 0);
  }
  assert.equal(core().memoryStats('cpu').total, before, 'nothing is left allocated');
});

test('a diverged step is an error in emulate mode too, where no loss is recorded (--margin 1e308,1,0,0)', () => {
  for (const strategy of ['partial-fc', 'model-parallel', 'data-parallel']) {
    const cell = { mode: 'emulate', strategy, gpus: 4, classes: 100, batch: 8, dim: 8, steps: 2, warmup: 1, backend: 'cpu' };
    const [diverging, fine] = expandScenario({ name: 't', description: '', defaults: {}, cells: [{ ...cell, margin: '1e308,1,0,0' }, cell] });
    const result = runCell(diverging);
    assert.equal(result.status, 'error', strategy);
    assert.match(result.error ?? '', /the step diverged: non-finite loss \(NaN\) at step 1 of 3 \(warm-up steps counted; check --lr, --margin and --dtype\)/, strategy);
    assert.equal(result.loss, undefined, `${strategy}: emulated, no loss is recorded`);
    assert.ok(result.timing, `${strategy}: the timings are kept`);
    assert.equal(runCell(fine).status, 'completed', `${strategy}: the same cell with a sane margin completes`);
  }
});

test('a diverged step (NaN loss) is an error, not a completed cell with a null loss', () => {
  const spec = expandScenario({ name: 't', description: '', defaults: {}, cells: [{ mode: 'single', classes: 100, batch: 8, dim: 8, steps: 2, warmup: 1, backend: 'cpu', lr: 1e38 }] })[0];
  const result = runCell(spec);
  assert.equal(result.status, 'error');
  assert.match(result.error ?? '', /the step diverged: non-finite loss \(NaN\) at step \d of 3 \(warm-up steps counted/);
  assert.ok(Number.isNaN(result.loss));
  // Saved as JSON, the status still says what happened (the loss itself becomes null).
  const saved = JSON.parse(JSON.stringify(result)) as CellResult;
  assert.equal(saved.status, 'error');
});
