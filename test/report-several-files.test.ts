/**
 * `pfc-bench report A.json B.json` puts the two files side by side, and names and titles its
 * output after both (issue 21: the files were stacked, the output was named A.* and titled
 * "custom, custom", and the throughput/memory chart showed one file's cells only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderReport } from '../src/report/hook.js';
import { readResultsFile, type ResultsFile } from '../src/bench/results.js';
import { fmt, reportStem } from '../src/report/data.js';
import { FIXTURE, parseCsv, svgTexts } from './fixtures/report-helpers.js';

/** A: the fixture as a custom run; B: the same cells on another interconnect, twice as fast. */
function twoRuns(dir: string): { a: string; b: string; A: ResultsFile; B: ResultsFile } {
  const A = readResultsFile(FIXTURE);
  A.scenario = { ...A.scenario, name: 'custom' };
  const B = structuredClone(A);
  for (const c of B.cells) {
    c.spec.interconnect = 'nvswitch3-8gpu-8xhdr';
    if (c.timing) c.timing.imagesPerSecond *= 2;
  }
  const a = join(dir, 'A.json');
  const b = join(dir, 'B.json');
  writeFileSync(a, JSON.stringify(A));
  writeFileSync(b, JSON.stringify(B));
  return { a, b, A, B };
}

test('several files: output named and titled after all of them, cells side by side by configuration', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-report-ab-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { a, b, A, B } = twoRuns(dir);
  const out = await renderReport([a, b], { formats: ['html', 'md', 'csv', 'svg'] });
  assert.equal(out.markdown, join(dir, 'A+B.md'));
  assert.equal(out.html, join(dir, 'A+B.html'));
  assert.equal(out.chartDir, join(dir, 'A+B-charts'));
  const md = readFileSync(out.markdown!, 'utf8');
  assert.ok(md.startsWith('# pfc-bench report: A vs B\n'), md.slice(0, 80));
  assert.ok(!md.includes('custom, custom'));
  const html = readFileSync(out.html!, 'utf8');
  assert.match(html, /<title>pfc-bench report: A vs B<\/title>/);
  assert.equal(html.match(/<table class="cells side-by-side">/g)?.length, 1, 'the HTML has one side-by-side cells table, not one per file');
  assert.match(html, /<th scope="col">img\/s \(A\)<\/th><th scope="col">Memory\/M \(A\)<\/th><th scope="col">Step ms \(B\)<\/th>/);
  assert.match(md, /The runs differ in interconnect: A pcie3-8gpu-1xedr, B nvswitch3-8gpu-8xhdr\./);

  // One row per configuration, with A's and B's figures on it; not one table per file.
  const header = md.split('\n').find((l) => l.startsWith('| Case | Method |'))!;
  assert.ok(header.includes('| img/s (A) |') && header.includes('| img/s (B) |') && header.includes('| img/s B / A |'), header);
  const rows = md.split('\n').filter((l) => l.startsWith('| 20k@8 | Model Parallel |'));
  assert.equal(rows.length, 1, 'one row for the case in both files');
  const ips = (f: ResultsFile) => f.cells.find((c) => c.status === 'completed' && c.spec.label === '20k@8' && c.spec.strategy === 'model-parallel')!.timing!.imagesPerSecond;
  const cols = rows[0].split(' | ');
  assert.ok(cols.includes(fmt(ips(A))) && cols.includes(fmt(ips(B))), rows[0]);
  assert.ok(cols.includes('2.00x'), 'B over A');
  assert.equal(md.match(/## All cells|### All cells/g), null, 'no stacked per-file cell tables');
  const csv = parseCsv(readFileSync(out.csv!, 'utf8'));
  assert.deepEqual([...new Set(csv.slice(1).map((r) => r[csv[0].indexOf('run')]))], ['A', 'B']);

  // Every chart that draws cells draws both files' cells.
  const sweep = out.charts.find((c) => c.name === 'sweep')!;
  const texts = svgTexts(readFileSync(sweep.svg!, 'utf8')).map((x) => x.content);
  for (const name of ['A · Model Parallel', 'B · Model Parallel', 'A · Partial FC 0.1 (sparse)', 'B · Partial FC 0.1 (sparse)']) assert.ok(texts.includes(name), `${name} in ${texts.join(' | ')}`);
  const seed = svgTexts(readFileSync(out.charts.find((c) => c.name === 'seed')!.svg!, 'utf8')).map((x) => x.content).join('\n');
  assert.match(seed, /A: 20k@8/);
  assert.match(seed, /B: 20k@8/);
});

test('two files of the same name in two folders are told apart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-report-same-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { a } = twoRuns(dir);
  const out = await renderReport([a, a], { outDir: join(dir, 'out'), formats: ['md'] });
  assert.equal(out.markdown, join(dir, 'out', 'A+A#2.md'));
  const many = Array.from({ length: 40 }, (_, i) => ({ path: `run-${i}.json`, run: `run-${i}`, file: readResultsFile(a) }));
  assert.equal(reportStem(many), 'run-0+39-more', 'a name a file system takes');
  assert.equal(reportStem(many.slice(0, 3)), 'run-0+run-1+run-2');
});
