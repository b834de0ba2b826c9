/**
 * Where issue 21's two parts meet: predictions (part A) in the reports, names and matching of
 * part B. A predicted file beside a measured one in `pfc-bench report A.json B.json` keeps every
 * predicted figure labelled, ratios with a prediction say so, and the predicted cells' profile is
 * listed; a prediction's configuration holds its target, backbone and reserve (two targets are
 * two cells); plan names interconnect profiles by topology and still reads the old names; the
 * run table and the progress lines carry both marks (^ predicted, ! x GEMMs under 1) and the
 * case names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderReport } from '../src/report/hook.js';
import { readResultsFile } from '../src/bench/results.js';
import { predictCell } from '../src/predict/cell.js';
import { configurationDifferences, configurationKey } from '../src/bench/configuration.js';
import { parsePlanArgs } from '../src/predict/plan.js';
import { BELOW_FLOOR_NOTE, resultsTable } from '../src/report/table.js';
import { Progress } from '../src/bench/progress.js';
import { FIXTURE } from './fixtures/report-helpers.js';

test('report A.json B.json with B predicted: B\'s figures and the ratios say predicted; the profile is listed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-report-predicted-ab-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const A = readResultsFile(FIXTURE);
  A.scenario = { ...A.scenario, name: 'custom' };
  const B = structuredClone(A);
  // The same cells predicted on an RTX 2080 Ti (one per configuration).
  const seen = new Set<string>();
  B.cells = A.cells
    .filter((c) => !seen.has(configurationKey(c.spec)) && seen.add(configurationKey(c.spec)))
    .map((c) => predictCell({ ...c.spec, mode: 'predict', target: 'rtx-2080ti' }));
  const a = join(dir, 'A.json');
  const b = join(dir, 'B.json');
  writeFileSync(a, JSON.stringify(A));
  writeFileSync(b, JSON.stringify(B));
  const out = await renderReport([a, b], { formats: ['md', 'html'] });
  const md = readFileSync(out.markdown!, 'utf8');
  assert.match(md, /The runs differ in mode: A emulate, B predict; target: A -, B rtx-2080ti/);
  const sideBySide = md.slice(md.indexOf('## Side by side'), md.indexOf('## Run A'));
  const rows = sideBySide.split('\n').filter((l) => l.startsWith('| 20k@8 | Model Parallel |'));
  assert.equal(rows.length, 1, 'one row for the case in both files');
  const cols = rows[0].split(' | ');
  // Case, Method, GPUs, Batch, A's three figures, B's three figures, two ratios.
  for (const col of cols.slice(4, 7)) assert.doesNotMatch(col, /predicted/, `A is measured: ${rows[0]}`);
  for (const col of cols.slice(7, 10)) assert.match(col, /^[\d.]+ \(predicted on rtx-2080ti\)$/, `B's figure is labelled: ${rows[0]}`);
  for (const col of cols.slice(10, 12)) assert.match(col, /^[\d.]+x \(B predicted\)/, `the ratio names the prediction: ${rows[0]}`);
  assert.match(md, /Interconnect profile \(the modeled communication\)\n\n- pcie3-8gpu-1xedr: /);
  const html = readFileSync(out.html!, 'utf8');
  const htmlTable = html.slice(html.indexOf('<table class="cells side-by-side">'));
  const htmlRow = htmlTable.slice(0, htmlTable.indexOf('</tr>', htmlTable.indexOf('<tbody>')));
  assert.equal(htmlRow.match(/<span class="prov">predicted on rtx-2080ti<\/span>/g)?.length, 3, htmlRow);
  assert.equal(htmlRow.match(/<span class="prov">B predicted<\/span>/g)?.length, 2, htmlRow);
});

test("a prediction's configuration holds its target, backbone and reserve; an emulated cell's has none", () => {
  const spec = readResultsFile(FIXTURE).cells[0].spec;
  const on = (target: string, extra = {}) => ({ ...spec, mode: 'predict' as const, target, ...extra });
  assert.deepEqual(configurationDifferences(on('rtx-2080ti'), on('v100-32gb')), ['target rtx-2080ti vs v100-32gb']);
  assert.deepEqual(configurationDifferences(on('v100-32gb'), on('v100-32gb', { backbone: 'r50' })), ['backbone none vs r50']);
  assert.deepEqual(configurationDifferences(on('v100-32gb'), on('v100-32gb', { reserveBytes: 2 ** 30 })), [`reserve 0 vs ${2 ** 30}`]);
  assert.deepEqual(configurationDifferences(on('v100-32gb'), on('v100-32gb', { interconnect: 'nvlink-v100' })), ['interconnect pcie3-8gpu-1xedr vs nvlink2-8gpu-4xedr']);
  assert.equal(configurationKey(spec), configurationKey({ ...spec, target: 'v100-32gb', backbone: 'r50' }), 'outside predict mode the prediction fields do not apply');
});

test('plan: the default interconnect is named by topology, and an old name reads as its profile', () => {
  const interconnect = (...args: string[]) => parsePlanArgs(['--classes', '5M', ...args])!.interconnect;
  assert.equal(interconnect('--target', 'v100-32gb'), 'nvlink2-8gpu-4xedr');
  assert.equal(interconnect('--target', 'a100-80gb'), 'nvswitch3-8gpu-8xhdr');
  assert.equal(interconnect('--target', 'h200'), 'nvswitch4-8gpu-8xndr');
  assert.equal(interconnect('--target', 'rtx-2080ti'), 'pcie3-8gpu-1xedr');
  assert.equal(interconnect('--target', 'rtx-2080ti', '--interconnect', 'ib-hdr'), 'pcie4-8gpu-1xhdr');
  assert.equal(interconnect('--target', 'rtx-2080ti', '--interconnect', 'pcie5-8gpu-1xndr'), 'pcie5-8gpu-1xndr');
  assert.throws(() => interconnect('--target', 'rtx-2080ti', '--interconnect', 'nvlink-h10'), /--interconnect: unknown value 'nvlink-h10'/);
});

test('the run table and progress lines: a predicted cell is marked ^ and names its target, a step under its GEMM floor !, both notes', () => {
  const measured = readResultsFile(FIXTURE).cells.find((c) => c.status === 'completed' && c.reference)!;
  const below = { ...measured, reference: { ...measured.reference!, stepOverGemm: 0.82 } };
  const predicted = predictCell({ ...measured.spec, mode: 'predict', target: 'rtx-2080ti' });
  const table = resultsTable([below, predicted]);
  const [, first, second] = table.split('\n').map((l) => l.trim().split(/\s{2,}/));
  assert.equal(first[0], '20k@8', table);
  assert.equal(first[10], '0.82!', table);
  assert.equal(second[0], '20k@8', table);
  assert.ok([first[4], first[6]].every((v) => !v.endsWith('^')), table);
  assert.ok([second[4], second[6], second[8], second[9]].every((v) => v.endsWith('^')), table);
  assert.match(table, /\n\^ predicted on rtx-2080ti: no kernel ran/);
  assert.ok(table.endsWith(BELOW_FLOOR_NOTE), table);

  const written: string[] = [];
  const stream = { isTTY: false, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
  const progress = new Progress(stream);
  progress.begin(2);
  progress.cellStart(0, below.spec);
  progress.cellDone(0, below.spec, below, false);
  progress.cellStart(1, predicted.spec);
  progress.cellDone(1, predicted.spec, predicted, false);
  const [line1, line2] = written.join('').trim().split('\n');
  assert.match(line1, /^\[cell 1\/2\] 20k@8 .*img\/s; warning: x GEMMs 0\.82/);
  assert.doesNotMatch(line1, /predicted/);
  assert.match(line2, /^\[cell 2\/2\] 20k@8 .*img\/s \(predicted on rtx-2080ti\)$/);
});
