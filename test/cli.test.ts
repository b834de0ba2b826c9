/** The command line: bad inputs are clear errors (exit 2, no crash); a run writes results. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseResultsFile } from '../src/bench/results.js';
import { FIXTURE } from './fixtures/report-helpers.js';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function pfc(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const SMALL: Record<string, string> = { classes: '1000', gpus: '4', batch: '16', dim: '8', steps: '1', warmup: '0', backend: 'cpu' };

/** The small case with some options replaced or added ([--name, value, ...]). */
function small(...args: string[]): string[] {
  const options = { ...SMALL };
  const extra: string[] = [];
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i].replace(/^--/, '');
    if (name in options || !name.includes('_')) options[name] = args[i + 1];
    else extra.push(args[i], args[i + 1]);
  }
  return [...Object.entries(options).flatMap(([k, v]) => [`--${k}`, v]), ...extra, '--no-report', '--quiet'];
}

const BAD: [string, string[], RegExp][] = [
  ['unknown strategy', ['--strategy', 'mixture'], /--strategy: unknown value 'mixture'; expected one of data-parallel, model-parallel, partial-fc/],
  ['sample rate 0', ['--strategy', 'partial-fc', '--sample-rate', '0'], /--sample-rate: expected a number in \(0, 1\]/],
  ['sample rate above 1', ['--strategy', 'partial-fc', '--sample-rate', '1.5'], /--sample-rate: expected a number in \(0, 1\]/],
  ['classes < gpus', ['--classes', '3', '--gpus', '4'], /--classes: 3 classes cannot be split over 4 GPUs/],
  ['batch not divisible by gpus', ['--batch', '18'], /--batch: global batch 18 is not divisible by 4 GPUs/],
  ['dim 0', ['--dim', '0'], /--dim: expected an integer >= 1, got 0/],
  ['misspelled option', ['--sample_rate', '0.1'], /--sample_rate: unknown option for 'run' \(did you mean '--sample-rate'\?\)/],
  ['not a number', ['--gpus', 'eight'], /--gpus: expected a number, got 'eight'/],
  ['unknown scenario', ['--scenario', 'sead'], /--scenario: no built-in scenario or file 'sead'.*did you mean 'seed'/],
  ['misspelled logits', ['--logits', 'fusde'], /--logits: unknown value 'fusde'; expected one of materialized, fused \(did you mean 'fused'\?\)/],
  ['a tile without fused logits', ['--tile', '64'], /--tile: a tile applies only with --logits fused/],
  ['a negative tile', ['--logits', 'fused', '--tile', '-1'], /--tile: expected an integer >= 0, got -1/],
  ['fused data parallel', ['--strategy', 'data-parallel', '--logits', 'fused'], /--logits: fused applies to model-parallel, partial-fc, not data-parallel/],
];

for (const [name, args, message] of BAD) {
  test(`bad input: ${name} is a clear error, exit code 2`, () => {
    const r = pfc('run', ...small(...args));
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, message);
    assert.doesNotMatch(r.err, /at .*\.js:\d+/, 'no stack trace for a usage error');
  });
}

test('a fused run: the table names it, the spec and the id carry it, the logits are one tile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-cli-'));
  const out = join(dir, 'r.json');
  const r = pfc('run', ...small('--strategy', 'model-parallel', '--logits', 'fused', '--tile', '100', '--out', out));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /model-parallel fused/);
  const cell = parseResultsFile(readFileSync(out, 'utf8'), out).cells[0];
  assert.equal(cell.status, 'completed');
  assert.equal(cell.spec.logits, 'fused');
  assert.equal(cell.spec.tile, 100);
  assert.match(cell.id, /\|fusedT100$/);
  assert.equal(cell.memory!.modelBytes.logits, 16 * 128 * 4, 'B x aligned tile');
  assert.ok(cell.memory!.atPeak.logits <= 16 * 128 * 4, 'logits at the peak: the tile scratch at most');
});

test('unknown command names the allowed ones', () => {
  const r = pfc('rum');
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown command 'rum' \(did you mean 'run'\?\)/);
});

test('a custom run prints the table and writes a results file with its context', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-cli-'));
  const out = join(dir, 'r.json');
  const r = pfc('run', ...small('--strategy', 'partial-fc', '--sample-rate', '0.5', '--out', out, '--seed', '9'));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /Method.*GPUs.*Batch.*Memory\/MB.*img\/s/);
  assert.match(r.out, /partial-fc 0.5 sparse/);
  const file = parseResultsFile(readFileSync(out, 'utf8'), out);
  const cell = file.cells[0];
  assert.equal(cell.status, 'completed');
  assert.equal(cell.spec.seed, 9);
  assert.equal(cell.spec.classes, 1000);
  assert.ok(cell.timing!.imagesPerSecond > 0);
  assert.ok(cell.memory!.peakBytes > 0);
  assert.equal(cell.loss, undefined, 'no loss in emulate mode');
  assert.ok(file.context.tool.gitRevision.length > 0);
  assert.match(String(file.context.backend.blas), /OpenBLAS/);
  assert.ok(file.context.cpu.length > 0);
});

/** The CLI with its stdout read by a reader that goes away: after the first line, or before any. */
function pfcIntoClosedPipe(args: string[], closeAfterFirstLine: boolean): Promise<{ code: number | null; signal: string | null; err: string; firstLine: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let out = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    if (closeAfterFirstLine) {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) child.stdout.destroy();
      });
    } else {
      child.stdout.destroy();
    }
    child.on('close', (code, signal) => resolve({ code, signal, err, firstLine: out.split('\n')[0] }));
  });
}

test('a closed stdout (pfc-bench ... | head) ends the output quietly: no EPIPE stack trace, the command finishes, its own exit status', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-epipe-'));
  // run: the table's first line is read, then the reader goes; the results and the report are still written.
  const out = join(dir, 'r.json');
  const run = await pfcIntoClosedPipe(['run', ...small('--out', out).filter((a) => a !== '--no-report')], true);
  assert.equal(run.code, 0, run.err);
  assert.match(run.firstLine, /^Setting +Method/, "the table's first line was read");
  assert.doesNotMatch(run.err, /EPIPE|at .*\.js:\d+/);
  assert.equal(parseResultsFile(readFileSync(out, 'utf8'), out).cells[0].status, 'completed');
  assert.ok(readFileSync(join(dir, 'r.md'), 'utf8').length > 0, 'the report is still written');
  // Every command that prints, its reader gone before the first line: the status it has with a reader.
  const commands = [
    ['capacity', '--classes', '1000', '--gpus', '2', '--batch', '4', '--dim', '8', '--gpu-memory', '1MiB', '--backend', 'cpu', '--quiet', '--no-report', '--out', join(dir, 'c.json')],
    ['report', FIXTURE, '--out', join(dir, 'report'), '--format', 'md,csv'],
    ['compare', FIXTURE, FIXTURE],
    ['scenarios'],
    ['strategies'],
    ['info'],
    ['info', '--json'],
    ['help'],
    ['help', '--markdown'],
    ['run', '--help'],
    [],
  ];
  for (const args of commands) {
    const reference = spawnSync(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 120_000 });
    const closed = await pfcIntoClosedPipe(args, false);
    assert.equal(closed.code, reference.status, `${args.join(' ')}: ${closed.err}`);
    assert.equal(closed.signal, null);
    assert.doesNotMatch(closed.err, /EPIPE|at .*\.js:\d+/, args.join(' '));
  }
});
