/** The sweep runner: out-of-memory cells, resume, scenario validation, progress output. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runSweep } from '../src/bench/sweep.js';
import { childProcessExecutor } from '../src/bench/runner.js';
import { Progress } from '../src/bench/progress.js';
import { expandScenario, parseScenario, parseBytes, parseCount } from '../src/bench/scenario.js';
import { parseResultsFile, type CellSpec, type ResultsFile } from '../src/bench/results.js';
import { runContext } from '../src/bench/context.js';
import { UsageError } from '../src/core/errors.js';

function tinyScenario(extra: Record<string, unknown>[] = []) {
  return parseScenario({
    name: 'tiny',
    description: 'two tiny cells',
    defaults: { classes: 4000, gpus: 4, batch: 32, dim: 16, steps: 2, warmup: 0, trials: 1, backend: 'cpu' },
    cells: [{ strategy: 'model-parallel' }, { strategy: 'partial-fc', sampleRate: 0.1 }, ...extra],
  });
}

function quietProgress(): { progress: Progress; text: () => string } {
  let text = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { progress: new Progress(sink, false), text: () => text };
}

async function sweep(specs: CellSpec[], outPath: string, resume = false): Promise<{ results: ResultsFile; log: string }> {
  const { progress, text } = quietProgress();
  const results = await runSweep(specs, childProcessExecutor({ cellTimeoutSeconds: 120 }), {
    outPath,
    scenario: { name: 'tiny', description: '', overrides: {} },
    context: runContext({ test: true }),
    resume,
    progress,
  });
  return { results, log: text() };
}

test('a cell that runs out of memory is recorded as oom and the next cell completes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-runner-'));
  const [mp, pfc] = expandScenario(tinyScenario());
  const starved = { ...mp, memoryBudget: 64 * 1024 };
  const { results, log } = await sweep([starved, pfc], join(dir, 'r.json'));
  assert.equal(results.cells[0].status, 'oom');
  assert.match(results.cells[0].error ?? '', /out of memory.*budget/);
  assert.equal(results.cells[1].status, 'completed');
  assert.ok(results.cells[1].timing!.stepMs.median > 0);
  const onDisk = parseResultsFile(readFileSync(join(dir, 'r.json'), 'utf8'), 'r.json');
  assert.deepEqual(onDisk.cells.map((c) => c.status), ['oom', 'completed']);
  // Not a terminal: one line per finished cell, no live updates.
  assert.equal(log.trim().split('\n').length, 2, log);
  assert.doesNotMatch(log, /\r/);
});

test('an interrupted sweep resumes without repeating its finished cells', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-runner-'));
  const out = join(dir, 'r.json');
  const specs = expandScenario(tinyScenario([{ strategy: 'data-parallel', classes: 1000 }]));
  const first = await sweep(specs.slice(0, 2), out);
  // The interruption: the file holds the first cell only (as written after that cell).
  const partial = { ...first.results, cells: first.results.cells.slice(0, 1) };
  writeFileSync(out, JSON.stringify(partial));
  const resumed = await sweep(specs, out, true);
  assert.deepEqual(resumed.results.cells.map((c) => c.status), ['completed', 'completed', 'completed']);
  assert.equal(resumed.results.cells[0].startedAt, first.results.cells[0].startedAt, 'the finished cell is kept, not rerun');
  assert.notEqual(resumed.results.cells[1].startedAt, first.results.cells[1].startedAt, 'the missing cell is run');
  assert.match(resumed.log, /kept from the previous run/);
});

test('scenario files: misspelled and unknown keys are named, with a suggestion', () => {
  assert.throws(() => parseScenario({ name: 'x', cells: [{ clases: 10 }] }), (e: unknown) => e instanceof UsageError && /unknown key 'clases'.*did you mean 'classes'/.test((e as Error).message));
  assert.throws(() => parseScenario({ name: 'x', defaults: { sampelRate: 0.1 }, cells: [{}] }), /did you mean 'sampleRate'/);
  assert.throws(() => parseScenario({ name: 'x', cell: [{}] }), /unknown key 'cell'.*did you mean 'cells'/);
  assert.throws(() => parseScenario({ name: 'x' }), /needs cells, a matrix, or both/);
  assert.throws(() => parseScenario({ name: 'x', matrix: { classes: [] } }), /matrix.classes.*non-empty array/);
});

test('scenario cells: bad values name the option; the matrix expands as a cross product', () => {
  const base = { name: 'x', defaults: { classes: 1000, gpus: 4, batch: 8, dim: 8 } };
  assert.throws(() => expandScenario(parseScenario({ ...base, cells: [{ strategy: 'partial' }] })), /--strategy: unknown value 'partial'/);
  assert.throws(() => expandScenario(parseScenario({ ...base, cells: [{ interconnect: 'nvlink-h10' }] })), /--interconnect.*did you mean 'nvlink-h100'/);
  assert.throws(() => expandScenario(parseScenario({ ...base, cells: [{ gpuMemory: '11 gigs' }] })), /--gpu-memory/);
  const specs = expandScenario(parseScenario({ ...base, cells: [{ label: 'a' }, { label: 'b' }], matrix: { strategy: ['model-parallel', 'partial-fc'], classes: ['1k', '2k'] } }));
  assert.equal(specs.length, 8);
  assert.deepEqual(specs.map((s) => s.classes), [1000, 2000, 1000, 2000, 1000, 2000, 1000, 2000]);
  assert.equal(specs.filter((s) => s.strategy === 'model-parallel').every((s) => s.sampleRate === 1), true);
});

test('sizes and counts parse with units', () => {
  assert.equal(parseBytes('--gpu-memory', '11GiB'), 11 * 2 ** 30);
  assert.equal(parseBytes('--gpu-memory', '32 GB'), 32e9);
  assert.equal(parseCount('--classes', '1M'), 1_000_000);
  assert.equal(parseCount('--classes', '125k'), 125_000);
  assert.throws(() => parseCount('--classes', 'many'), /--classes/);
});

test('every built-in scenario loads and expands to valid cells', async () => {
  const { builtinScenarioNames, loadScenario } = await import('../src/bench/scenario.js');
  const names = builtinScenarioNames();
  for (const required of ['seed', 'aft-table', 'capacity', 'ci']) assert.ok(names.includes(required), `scenario ${required} exists`);
  for (const name of names) assert.ok(expandScenario(loadScenario(name)).length > 0, name);
  const seed = expandScenario(loadScenario('seed'));
  const seedCells = [
    ['model-parallel', 1_000_000, 8, 1024, 1],
    ['partial-fc', 1_000_000, 8, 1024, 0.1],
    ['model-parallel', 10_000_000, 64, 2048, 1],
    ['partial-fc', 10_000_000, 64, 4096, 0.1],
  ];
  // The seed's four cells, then the same four with fused logits.
  assert.deepEqual(
    seed.map((c) => [c.strategy, c.classes, c.ranks, c.batch, c.sampleRate, c.logits ?? 'materialized']),
    [...seedCells.map((c) => [...c, 'materialized']), ...seedCells.map((c) => [...c, 'fused'])],
  );
});
