/**
 * The option table and the small input defects a hostile-user review found: per-command --help, junk
 * arguments, --out checked before any cell, scenario names and shapes, whole counts, boolean
 * values, comma-list sweeps, capacity overrides without duplicates or stale labels, single
 * mode's one rank, the progress label, modeled memory on oom rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expandScenario, loadScenario, parseScenario } from '../src/bench/scenario.js';
import { CELL_FIELDS, builtinDefaults, cellConfigSchema, parseCount } from '../src/bench/fields.js';
import { parseOptions } from '../src/options.js';
import { planRun } from '../src/run-args.js';
import { describeCell } from '../src/bench/progress.js';
import { resultsTable } from '../src/report/table.js';
import { cellRow } from '../src/report/markdown.js';
import { UsageError } from '../src/core/errors.js';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function pfc(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const usage = (option: string, message: RegExp) => (e: unknown) => e instanceof UsageError && e.option === option && message.test(e.message);

test('run --help and capacity --help print the options generated from the field table, exit 0', () => {
  for (const command of ['run', 'capacity']) {
    const r = pfc(command, '--help');
    assert.equal(r.code, 0, r.err);
    for (const f of CELL_FIELDS) if (f.flag) assert.match(r.out, new RegExp(`--${f.flag} `), `${command} --help lists --${f.flag}`);
    assert.match(r.out, /--classes +\* identities/, 'a sweepable field is marked');
    assert.match(r.out, /--backend +auto/, 'one that is not is not');
    assert.match(r.out, /strategies:\n  data-parallel/);
  }
});

test('scenarios and info refuse junk arguments, naming the command', () => {
  const expected = { scenarios: /scenarios: takes no arguments, got 'junk'/, info: /info: unexpected argument 'junk'; the only option is --json/ };
  for (const [command, message] of Object.entries(expected)) {
    const r = pfc(command, 'junk');
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, message);
  }
});

test('--out that is a folder fails before any cell runs, leaving no temporary file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-out-'));
  const folder = join(dir, 'results');
  mkdirSync(folder);
  const r = pfc('run', '--classes', '100', '--gpus', '2', '--batch', '4', '--dim', '4', '--steps', '1', '--warmup', '0', '--backend', 'cpu', '--out', folder, '--no-report');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /--out: '.*results' is a folder; expected the path of a results file/);
  assert.doesNotMatch(r.err, /\[cell 1/, 'no cell ran');
  assert.deepEqual(readdirSync(dir), ['results'], 'no .tmp file left behind');
  assert.deepEqual(readdirSync(folder), []);
});

test('--out in a folder that cannot be written fails before any cell runs, naming --out and the reason', { skip: process.platform !== 'linux' && 'needs /proc' }, () => {
  for (const command of ['run', 'capacity']) {
    const r = pfc(command, '--classes', '100', '--gpus', '2', '--batch', '4', '--dim', '4', '--steps', '1', '--warmup', '0', '--backend', 'cpu', '--out', '/proc/x.json', '--no-report', ...(command === 'capacity' ? ['--gpu-memory', '1MiB', '--scenario', 'capacity'] : []));
    assert.equal(r.code, 2, `${command}: ${r.err}`);
    assert.match(r.err, /--out: cannot write results in the folder '\/proc' \((ENOENT|EACCES|EPERM|EROFS)\)/, command);
    assert.doesNotMatch(r.err, /\[cell 1|\.tmp-\d+|at .*\.js:\d+/, `${command}: no cell ran, no raw error`);
  }
});

test('--threads past 4x the CPU cores is refused, from the command line and from a scenario', () => {
  const max = 4 * availableParallelism();
  assert.equal(planRun('run', ['--threads', String(max)])!.specs[0].threads, max);
  assert.equal(planRun('run', ['--threads', '0'])!.specs[0].threads, 0);
  const tooMany = usage('--threads', new RegExp(`expected at most ${max} threads \\(4x this machine's \\d+ CPU cores; 0: all cores\\), got ${max + 1}`));
  assert.throws(() => planRun('run', ['--threads', String(max + 1)]), tooMany);
  assert.throws(() => planRun('run', ['--threads', `1,${max + 1}`]), tooMany);
  assert.throws(() => parseScenario({ name: 'x', cells: [{ threads: max + 1 }] }), tooMany);
  const r = pfc('run', '--threads', '10000', '--backend', 'cpu', '--no-report');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /--threads: expected at most \d+ threads/);
});

test('every switch of every command refuses a value, naming the switch (exit 2)', async () => {
  const { RUN_OPTIONS } = await import('../src/run-args.js');
  const { COMPARE_OPTIONS } = await import('../src/compare/command.js');
  const { CALIBRATE_OPTIONS } = await import('../src/calibrate/command.js');
  const { FIDELITY_OPTIONS } = await import('../src/calibrate/fidelity.js');
  const { REPORT_OPTIONS } = await import('../src/report/command.js');
  const { HELP_OPTIONS } = await import('../src/options-reference.js');
  const { INFO_OPTIONS } = await import('../src/info.js');
  const { STRATEGIES_OPTIONS } = await import('../src/strategies/command.js');
  const tables = { run: RUN_OPTIONS, capacity: RUN_OPTIONS, compare: COMPARE_OPTIONS, calibrate: CALIBRATE_OPTIONS, fidelity: FIDELITY_OPTIONS, report: REPORT_OPTIONS, help: HELP_OPTIONS, info: INFO_OPTIONS, strategies: STRATEGIES_OPTIONS };
  let switches = 0;
  for (const [command, table] of Object.entries(tables)) {
    for (const [name, spec] of Object.entries(table)) {
      if (spec.kind !== 'boolean') continue;
      switches++;
      assert.throws(() => parseOptions([`--${name}=no`], table, command), usage(`--${name}`, /is a switch and takes no value/), `${command} --${name}=no`);
      assert.equal(parseOptions([`--${name}`], table, command).options[name], true);
    }
  }
  assert.ok(switches >= 10, `${switches} switches checked`);
  for (const args of [['run', '--resume=no'], ['capacity', '--quiet=false'], ['compare', 'a.json', 'b.json', '--json=1'], ['calibrate', '--no-report=yes'], ['fidelity', '--help=true'], ['info', '--json=false'], ['help', '--markdown=off']]) {
    const r = pfc(...args);
    const flag = args.find((a) => a.includes('='))!;
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, new RegExp(`${flag.split('=')[0]}: is a switch and takes no value, got '${flag}'`), args.join(' '));
  }
});

test('--gpus-per-node must divide --gpus past one node, from the command line and from a scenario', () => {
  const notWhole = usage('--gpus-per-node', /3 GPUs per node does not divide --gpus 8 \(the GPUs fill whole nodes\)/);
  assert.throws(() => planRun('run', ['--gpus', '8', '--gpus-per-node', '3']), notWhole);
  assert.throws(() => planRun('run', ['--gpus', '6,8', '--gpus-per-node', '3', '--batch', '1200']), notWhole);
  assert.throws(() => expandScenario(parseScenario({ name: 'x', cells: [{ gpus: 8, gpusPerNode: 3 }] }), {}, {}), notWhole);
  for (const [gpus, perNode] of [['8', '4'], ['8', '8'], ['16', '8'], ['4', '8'], ['8', '0']]) {
    assert.equal(planRun('run', ['--gpus', gpus, '--gpus-per-node', perNode])!.specs[0].gpusPerNode, Number(perNode), `--gpus ${gpus} --gpus-per-node ${perNode}`);
  }
  const r = pfc('run', '--gpus', '8', '--gpus-per-node', '3', '--backend', 'cpu', '--no-report');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /--gpus-per-node: 3 GPUs per node does not divide --gpus 8/);
});

test('-h is --help for every command: alone or among other arguments, the same text, exit 0', () => {
  const expected: Record<string, RegExp> = {
    '': /^pfc-bench: what the classification layer/,
    run: /^pfc-bench: what the classification layer[\s\S]*--classes/,
    capacity: /^pfc-bench: what the classification layer[\s\S]*--gpu-memory/,
    report: /^usage: pfc-bench report /,
    compare: /^usage: pfc-bench compare /,
    calibrate: /^usage: pfc-bench calibrate /,
    fidelity: /^usage: pfc-bench fidelity /,
    scenarios: /^usage: pfc-bench scenarios/,
    info: /^usage: pfc-bench info/,
    help: /^pfc-bench: what the classification layer/,
  };
  for (const [command, text] of Object.entries(expected)) {
    const words = command ? [command] : [];
    const long = pfc(...words, '--help');
    for (const args of [[...words, '-h'], ...(command ? [[...words, 'x.json', '-h']] : [])]) {
      const r = pfc(...args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
      assert.equal(r.err, '', args.join(' '));
      assert.match(r.out, text, args.join(' '));
      assert.equal(r.out, long.out, `${args.join(' ')} prints what --help does`);
    }
  }
});

test('capacity without a positive --gpu-memory fails up front (exit 2), not in every cell', () => {
  const noBudget = usage('--gpu-memory', /capacity needs a positive per-GPU memory budget such as 11GiB; got 0/);
  assert.throws(() => planRun('capacity', ['--gpu-memory', '0'], 'capacity'), noBudget);
  assert.throws(() => planRun('capacity', ['--gpu-memory', '0B'], 'capacity'), noBudget);
  assert.throws(() => planRun('capacity', ['--gpu-memory', '1GiB,0', '--gpus', '2', '--batch', '4']), usage('--gpu-memory', /got 0 \(cell 2 of 2\)/));
  assert.throws(() => planRun('capacity', ['--gpus', '2', '--batch', '4']), noBudget, 'a custom case without a budget');
  assert.equal(planRun('capacity', ['--gpu-memory', '1GiB', '--gpus', '2', '--batch', '4'])!.specs[0].memoryBudget, 2 ** 30);
  assert.ok(planRun('capacity', [], 'capacity')!.specs.every((s) => s.memoryBudget > 0), 'the built-in capacity scenario has budgets');
  const r = pfc('capacity', '--gpu-memory', '0', '--backend', 'cpu', '--no-report', '--out', join(mkdtempSync(join(tmpdir(), 'pfc-cap-')), 'c.json'));
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /--gpu-memory: capacity needs a positive per-GPU memory budget/);
  assert.doesNotMatch(r.err, /\[cell 1/, 'no cell ran');
});

test('a scenario name cannot leave reports/; null cells and matrices are clear errors', () => {
  assert.throws(() => parseScenario({ name: '../../etc/x', cells: [{}] }), usage('scenario: name', /letters, digits/));
  assert.throws(() => parseScenario({ name: '.hidden', cells: [{}] }), usage('scenario: name', /letters, digits/));
  assert.throws(() => parseScenario({ name: 'a/b', cells: [{}] }), usage('scenario: name', /letters, digits/));
  assert.throws(() => parseScenario({ name: 'x', cells: [null] }), usage('scenario: cells[0]', /expected an object of cell fields, got null/));
  assert.throws(() => parseScenario({ name: 'x', matrix: null }), usage('scenario: matrix', /expected an object/));
  assert.throws(() => parseScenario({ name: 'x', cells: [{ classes: 1.5 }] }), usage('--classes', /whole count/));
  assert.throws(() => parseScenario({ name: 'x', cells: [{ gpus: '8' }], matrix: { batch: [null] } }), usage('--batch', /expected a number, got null/));
});

test('--classes 1.5 is refused, 1.5M is a count; a switch given a value (--resume=no) is an error naming it', () => {
  assert.throws(() => parseCount('--classes', '1.5'), usage('--classes', /whole count/));
  assert.equal(parseCount('--classes', '1.5M'), 1_500_000);
  const spec = { resume: { kind: 'boolean' as const, help: '' } };
  assert.equal(parseOptions(['--resume'], spec, 'run').options.resume, true);
  assert.equal(parseOptions([], spec, 'run').options.resume, undefined);
  for (const value of ['no', 'true', 'maybe', '']) {
    assert.throws(() => parseOptions([`--resume=${value}`], spec, 'run'), usage('--resume', new RegExp(`is a switch and takes no value, got '--resume=${value}'; give --resume to turn it on`)));
  }
  const r = pfc('run', '--classes', '1.5', '--backend', 'cpu', '--no-report');
  assert.equal(r.code, 2);
  assert.match(r.err, /--classes: expected a whole count/);
});

test('comma lists sweep like a scenario matrix', () => {
  const scenario = parseScenario({ name: 'x', defaults: { gpus: 2, batch: 4, dim: 4 }, cells: [{}] });
  const specs = expandScenario(scenario, {}, { classes: [1000, 2000], strategy: ['model-parallel', 'partial-fc'] });
  assert.deepEqual(specs.map((s) => [s.strategy, s.classes]), [
    ['model-parallel', 1000],
    ['partial-fc', 1000],
    ['model-parallel', 2000],
    ['partial-fc', 2000],
  ]);
  const parsed = parseOptions(['--classes', '1M,2M'], { classes: { kind: 'string', help: '', list: true, parse: (v, o) => parseCount(o, v) } }, 'run');
  assert.deepEqual(parsed.options.classes, [1_000_000, 2_000_000]);
});

test('capacity with --gpus/--batch overrides runs no duplicates and keeps no stale label', () => {
  const capacity = loadScenario('capacity');
  const plain = expandScenario(capacity);
  assert.equal(plain.length, capacity.cells.length);
  const eightGpuCells = plain.filter((s) => s.ranks === 8).length;
  assert.ok(eightGpuCells > 0 && eightGpuCells < plain.length);
  const overridden = expandScenario(capacity, { gpus: 8, batch: 512 });
  assert.equal(overridden.length, eightGpuCells, 'the 64-GPU cells become the 8-GPU ones, run once');
  assert.ok(overridden.every((s) => s.ranks === 8));
  assert.ok(!overridden.some((s) => s.label === '64 GPUs'), 'no cell run with 8 GPUs is labelled "64 GPUs"');
});

test('--mode single implies one rank; an explicit --gpus 4 is still refused', () => {
  const scenario = { name: 'custom', description: '', defaults: {}, cells: [{}] };
  const [spec] = expandScenario(scenario, { mode: 'single', classes: 100, batch: 8, dim: 4 });
  assert.equal(spec.ranks, 1);
  assert.throws(() => expandScenario(scenario, { mode: 'single', gpus: 4, classes: 100, batch: 8 }), usage('--mode', /single mode runs one rank/));
});

test('the progress line does not repeat a label; oom rows show the modeled memory', () => {
  const [spec] = expandScenario({ name: 'x', description: '', defaults: {}, cells: [{ label: '1M@8', strategy: 'model-parallel' }] });
  const line = describeCell(spec);
  assert.equal(line.split('1M@8').length - 1, 1, line);
  const table = resultsTable([{ id: 'x', status: 'oom', spec, error: 'out of memory' }]);
  const row = table.split('\n')[1].trim().split(/\s{2,}/);
  assert.equal(row[4], '-', 'no measured memory');
  assert.match(row[5], /^\d+$/, `the modeled memory is shown: ${table}`);
  assert.ok(Number(row[5]) > 0);
  const markdownRow = cellRow({ id: 'x', status: 'oom', spec, error: 'out of memory' });
  assert.match(markdownRow[6], /^\S+ \(modeled\)$/, 'the report shows it too');
});

test('defaults, help and the config schema come from one table', () => {
  const defaults = builtinDefaults();
  const schema = cellConfigSchema() as { properties: Record<string, { default?: unknown }> };
  for (const f of CELL_FIELDS) {
    assert.ok(schema.properties[f.key], f.key);
    assert.deepEqual(schema.properties[f.key].default, defaults[f.key]);
  }
  assert.equal(defaults.classes, 1_000_000);
});

test('--keep takes statuses, with --resume only', async () => {
  const { planRun } = await import('../src/run-args.js');
  const base = ['--classes', '100', '--gpus', '2', '--batch', '4', '--dim', '4'];
  assert.deepEqual(planRun('run', [...base, '--resume', '--keep', 'oom,killed'])!.keep, ['oom', 'killed']);
  assert.deepEqual(planRun('run', [...base, '--resume', '--keep', 'timeout'])!.keep, ['timeout']);
  assert.deepEqual(planRun('run', [...base, '--resume'])!.keep, []);
  assert.throws(() => planRun('run', [...base, '--keep', 'oom']), usage('--keep', /only means something with --resume/));
  assert.throws(() => planRun('run', [...base, '--resume', '--keep', 'completed']), usage('--keep', /unknown status 'completed'/));
  assert.throws(() => planRun('run', [...base, '--resume', '--keep', 'om']), usage('--keep', /did you mean 'oom'/));
});

test('pfc-bench run with comma lists runs every combination, in order, each labelled by its own fields', async () => {
  const { parseResultsFile } = await import('../src/bench/results.js');
  const { readFileSync } = await import('node:fs');
  const out = join(mkdtempSync(join(tmpdir(), 'pfc-sweep-')), 'r.json');
  const r = pfc('run', '--classes', '1000,2000', '--strategy', 'model-parallel,partial-fc', '--gpus', '2', '--batch', '8', '--dim', '4', '--steps', '1', '--warmup', '0', '--backend', 'cpu', '--threads', '1', '--out', out, '--no-report');
  assert.equal(r.code, 0, r.err);
  const file = parseResultsFile(readFileSync(out, 'utf8'), out);
  assert.deepEqual(file.cells.map((c) => [c.spec.classes, c.spec.strategy, c.status]), [
    [1000, 'model-parallel', 'completed'],
    [1000, 'partial-fc', 'completed'],
    [2000, 'model-parallel', 'completed'],
    [2000, 'partial-fc', 'completed'],
  ]);
  assert.deepEqual(file.scenario.overrides.classes, [1000, 2000], 'the results say what was swept');
  assert.match(r.err, /\[cell 4\/4\] 2k@2 partial-fc 0\.1 sparse batch 8/);
});
