/**
 * The report's files from the real-run fixture: where they go by default, the Markdown in the
 * seed's layout with ratios and provenance labels, the CSV (one row per cell, stable columns),
 * the self-contained HTML page, and the CLI: `pfc-bench report`, bad options, and an unknown
 * schema version as a clear error with a non-zero exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadResults, renderReport } from '../src/report/hook.js';
import { CSV_COLUMNS } from '../src/report/csv.js';
import { parseReportArgs } from '../src/report/command.js';
import { CLI, FIXTURE, parseCsv, pngSize } from './fixtures/report-helpers.js';
import { parseResultsFile } from '../src/bench/results.js';

const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { cells: { id: string; status: string; error?: string }[] };

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'pfc-report-'));
}

test('default output goes next to the first results file: .html, .md, .csv and -charts/*.svg|png', async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const results = join(dir, 'run-1.json');
  copyFileSync(FIXTURE, results);
  const out = await renderReport([results]);
  assert.equal(out.html, join(dir, 'run-1.html'));
  assert.equal(out.markdown, join(dir, 'run-1.md'));
  assert.equal(out.csv, join(dir, 'run-1.csv'));
  assert.equal(out.chartDir, join(dir, 'run-1-charts'));
  const charts = readdirSync(join(dir, 'run-1-charts')).sort();
  assert.deepEqual(charts, ['memory.png', 'memory.svg', 'phases.png', 'phases.svg', 'seed.png', 'seed.svg', 'sweep.png', 'sweep.svg']);
  for (const c of out.charts) {
    const size = pngSize(readFileSync(c.png!));
    assert.deepEqual(size, { width: c.pngWidth, height: c.pngHeight });
    assert.equal(size.width, Math.round(c.width * 2));
    assert.match(readFileSync(c.svg!, 'utf8'), /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg /);
  }
});

test('Markdown: the seed layout with ours, published and ratios, emulated figures labelled, failures listed', async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = await renderReport([FIXTURE], { outDir: dir, formats: ['md', 'svg'] });
  const md = readFileSync(out.markdown!, 'utf8');
  assert.ok(md.includes('| Method | GPUs | BatchSize | Memory/M (ours, FC) | Memory/M (published) | Throughput img/sec (ours, FC) | Throughput img/sec (published) |'));
  assert.match(md, /## 20k@8: 20k identities/);
  assert.match(md, /## 200k@64: 200k identities/);
  // Published figures and their ratios (8100 / 10408 = 0.78x, 2780 / 2390 = 1.16x; 12600 / 4483 = 2.81x).
  assert.match(md, /\| Model Parallel \| 8 \| 64 \| [\d.]+ \(emulated rank\) \| 10408 \| \d+ \(emulated, comm\. modeled\) \| 2390 \|/);
  assert.match(md, /\| Partial FC 0\.1 \(sparse\) \/ Model Parallel \|\s+\|\s+\| [\d.]+x \| 0\.78x \| [\d.]+x \| 1\.16x \|/);
  assert.match(md, /\| [\d.]+x \| 0\.69x \| [\d.]+x \| 2\.81x \|/);
  // Every figure of an emulated cell says so.
  const rows = md.split('\n').filter((l) => /^\| (sweep|20k@8|200k@64) \|/.test(l));
  assert.equal(rows.length, 10);
  for (const row of rows) assert.match(row, /\(emulated rank\).*\(modeled\).*\(emulated, comm\. modeled\)/);
  assert.match(md, /## Cells that did not complete/);
  assert.match(md, /\*\*oom\*\* - out of memory/);
  assert.match(md, /!\[Throughput and memory by method\]\(report-results-charts\/seed\.svg\)/);
});

test('CSV: one row per cell, stable column names, errors kept', async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = await renderReport([FIXTURE], { outDir: dir, formats: ['csv'] });
  assert.equal(out.charts.length, 0);
  const rows = parseCsv(readFileSync(out.csv!, 'utf8'));
  assert.deepEqual(rows[0], [...CSV_COLUMNS]);
  assert.equal(rows.length - 1, fixture.cells.length);
  for (const row of rows.slice(1)) assert.equal(row.length, CSV_COLUMNS.length);
  const col = (name: string) => CSV_COLUMNS.indexOf(name);
  for (const name of ['cell_id', 'status', 'classes', 'gpus', 'global_batch', 'images_per_second', 'peak_bytes', 'phase_gemm_ms', 'measured_centres_bytes', 'modeled_centres_bytes', 'published_images_per_second']) {
    assert.ok(col(name) >= 0, `no column ${name}`);
  }
  assert.deepEqual(rows.slice(1).map((r) => r[col('cell_id')]), fixture.cells.map((c) => c.id));
  const oom = rows.find((r) => r[col('status')] === 'oom')!;
  assert.match(oom[col('error')], /out of memory/);
  assert.equal(oom[col('images_per_second')], '');
  const first = rows[1];
  assert.ok(Number(first[col('images_per_second')]) > 0);
  assert.equal(first[col('published_images_per_second')], '2390');
  assert.equal(first[col('provenance')], 'emulated rank 0 of 8; communication modeled (pcie3-8gpu-1xedr)', 'the fixture\'s old name pcie-gen3 reads as its profile\'s name now');
});

test('HTML: one self-contained file, inline SVG charts, tables, context, failed cells', async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = await renderReport([FIXTURE], { outDir: dir, formats: ['html'] });
  const html = readFileSync(out.html!, 'utf8');
  assert.equal(out.chartDir, undefined, 'html alone writes no chart files');
  // Nothing to fetch: no scripts, no external URLs in src/href/url(), and a CSP that forbids them.
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /<link\b/i);
  assert.doesNotMatch(html, /\b(src|href)="(?!#|data:)/i);
  assert.doesNotMatch(html, /url\((?!data:|#)/i);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  assert.match(html, /@font-face \{ font-family: 'DejaVu Sans'.*src: url\(data:font\/ttf;base64,/);
  assert.equal([...html.matchAll(/<figure id="figure-/g)].length, 4);
  assert.equal([...html.matchAll(/<svg /g)].length, 4);
  // Chart ids are scoped, so no two inline SVGs share a clip path.
  const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(new Set(ids).size, ids.length, 'duplicate ids in the page');
  assert.match(html, /<section id="summary">/);
  assert.match(html, /<tr class="ratio"><th scope="row">Partial FC 0\.1 \(sparse\) \/ Model Parallel<\/th>/);
  assert.match(html, /<section id="failed">[\s\S]*data-status="oom"[\s\S]*out of memory: allocating/);
  assert.match(html, /backend\.blas/);
  assert.match(html, /Configuration shared by every cell/);
  assert.match(html, /pfc-bench run --scenario test\/fixtures\/report-scenario\.json/);
});

test('CLI: pfc-bench report renders the chosen formats into --out', (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = spawnSync(process.execPath, [CLI, 'report', FIXTURE, '--out', dir, '--format', 'md,csv'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /report: .*report-results\.md/);
  assert.ok(existsSync(join(dir, 'report-results.md')) && existsSync(join(dir, 'report-results.csv')));
  assert.ok(!existsSync(join(dir, 'report-results.html')));
});

test('CLI: an unknown schema version is a clear error and a non-zero exit', (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const future = join(dir, 'future.json');
  writeFileSync(future, JSON.stringify({ ...JSON.parse(readFileSync(FIXTURE, 'utf8')), schemaVersion: 99 }));
  assert.throws(() => loadResults([future]), /results schema version 99 is not supported \(this pfc-bench reads versions 1 and 2\)/);
  const run = spawnSync(process.execPath, [CLI, 'report', future, '--out', dir], { encoding: 'utf8' });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /future\.json: results schema version 99 is not supported/);
  assert.equal(readdirSync(dir).length, 1, 'nothing written');

  const notResults = join(dir, 'other.json');
  writeFileSync(notResults, '{"hello": 1}');
  const other = spawnSync(process.execPath, [CLI, 'report', notResults], { encoding: 'utf8' });
  assert.notEqual(other.status, 0);
  assert.match(other.stderr, /not a pfc-bench results file/);

  const missing = spawnSync(process.execPath, [CLI, 'report', join(dir, 'nope.json')], { encoding: 'utf8' });
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /nope\.json: cannot read the results file \(ENOENT\)/);
});

test('report options are validated and named', () => {
  assert.deepEqual(parseReportArgs(['a.json', 'b.json', '--format', 'html,markdown']), { paths: ['a.json', 'b.json'], outDir: undefined, formats: ['html', 'md'], strategyModules: [] });
  assert.deepEqual(parseReportArgs(['a.json', '--strategy-module', 'x.js', '--strategy-module=y']).strategyModules, ['x.js', 'y'], '--strategy-module is repeatable');
  assert.throws(() => parseReportArgs(['a.json', '--format', 'pdf']), /--format: unknown format 'pdf'/);
  assert.throws(() => parseReportArgs(['a.json', '--formt', 'svg']), /--formt: unknown option for 'report' \(did you mean '--format'\?\)/);
  assert.throws(() => parseReportArgs([]), /expected at least one results file/);
  const run = spawnSync(process.execPath, [CLI, 'report', FIXTURE, '--format', 'gif'], { encoding: 'utf8' });
  assert.equal(run.status, 2);
  assert.match(run.stderr, /--format: unknown format 'gif'/);
});

test('several results files make one report, runs told apart', async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = join(dir, 'baseline.json');
  const b = join(dir, 'candidate.json');
  copyFileSync(FIXTURE, a);
  copyFileSync(FIXTURE, b);
  const out = await renderReport([a, b], { formats: ['md', 'csv', 'svg'] });
  const md = readFileSync(out.markdown!, 'utf8');
  assert.match(md, /## Run baseline/);
  assert.match(md, /## Run candidate/);
  assert.equal(parseCsv(readFileSync(out.csv!, 'utf8')).length - 1, 2 * fixture.cells.length);
  const seed = readFileSync(join(dir, 'baseline+candidate-charts', 'seed.svg'), 'utf8');
  assert.match(seed, /baseline: 20k@8/);
  assert.match(seed, /candidate: 20k@8/);
});

test('a version-1 results file is read with the one step time: its median is the old totalMs and communication is counted once', () => {
  const raw = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { schemaVersion: number; cells: { spec: { mode: string }; timing?: { totalMs: number; modeledCommMs: number } }[] };
  assert.equal(raw.schemaVersion, 1);
  const upgraded = parseResultsFile(readFileSync(FIXTURE, 'utf8'), FIXTURE);
  assert.equal(upgraded.schemaVersion, 2);
  let checked = 0;
  upgraded.cells.forEach((cell, i) => {
    const before = raw.cells[i].timing;
    if (!before) return;
    assert.ok(cell.timing, `${cell.id}: the upgrade dropped the timing`);
    checked++;
    assert.equal(cell.timing.stepMs.median, before.totalMs);
    if (raw.cells[i].spec.mode === 'emulate') {
      assert.equal(cell.timing.communication, 'modeled');
      assert.equal(cell.timing.phasesMs.communication, before.modeledCommMs);
    }
    assert.ok(Math.abs(cell.timing.imagesPerSecond - cell.spec.batch / (cell.timing.stepMs.median / 1000)) < 1e-6 * cell.timing.imagesPerSecond);
  });
  assert.ok(checked > 0, 'the fixture has timed cells');
});

test('CLI: a results file whose cell lacks a spec, id or status is an error naming the file and the cell, in every reader', (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { cells: Record<string, unknown>[] };
  const cases: [string, (cells: Record<string, unknown>[]) => unknown, RegExp][] = [
    ['no-spec', (c) => c.map((cell, i) => (i === 1 ? { ...cell, spec: undefined } : cell)), /no-spec\.json: cell 1 \(.+\) has no spec object/],
    ['no-id', (c) => c.map((cell, i) => (i === 0 ? { ...cell, id: undefined } : cell)), /no-id\.json: cell 0 has no id/],
    ['bad-status', (c) => c.map((cell, i) => (i === 2 ? { ...cell, status: 'fine' } : cell)), /bad-status\.json: cell 2 \(.+\) has status "fine"; expected one of completed, oom/],
    ['not-object', (c) => [...c, 7], new RegExp(`not-object\\.json: cell ${good.cells.length} is not an object`)],
    ['no-cells', () => 'none', /no-cells\.json: results file has no cells array/],
  ];
  for (const [name, mutate, message] of cases) {
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify({ ...good, cells: mutate(good.cells) }));
    assert.throws(() => parseResultsFile(readFileSync(path, 'utf8'), path), message);
    const runs: [string, string[]][] = [
      ['report', ['report', path, '--out', join(dir, 'out')]],
      ['compare', ['compare', FIXTURE, path]],
      ['fidelity', ['fidelity', path, FIXTURE]],
      ['run --resume', ['run', '--resume', '--out', path, '--classes', '100', '--gpus', '2', '--batch', '4', '--dim', '4', '--steps', '1', '--warmup', '0', '--backend', 'cpu', '--quiet', '--no-report']],
    ];
    for (const [reader, args] of runs) {
      const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
      assert.notEqual(r.status, 0, `${reader} of ${name}`);
      assert.match(r.stderr, message, `${reader} of ${name}`);
      assert.doesNotMatch(r.stderr, /Cannot read properties|at .*\.js:\d+/, `${reader} of ${name}: no crash`);
    }
  }
});
