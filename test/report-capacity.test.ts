/**
 * A capacity run's report: its answers in a capacity table (issue 21: they sat in the cells
 * table with 'completed' and 'error' in the throughput column), and the values given on the
 * command line beside a scenario description that names others (11/32 GiB, 64 images per GPU).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readResultsFile } from '../src/bench/results.js';
import { markdownSummary } from '../src/report/markdown.js';
import { htmlPage } from '../src/report/html.js';
import { overridesLine, type LoadedResults } from '../src/report/data.js';
import { ROOT } from './fixtures/report-helpers.js';

const path = join(ROOT, 'reports', 'reference', 'capacity.json');

function loaded(overrides: Record<string, unknown> = {}): LoadedResults {
  const file = readResultsFile(path);
  file.scenario = { ...file.scenario, overrides };
  return { path, run: 'capacity', file };
}

test('capacity answers are a capacity table, never a throughput column reading completed', () => {
  const md = markdownSummary([loaded()]);
  assert.match(md, /## Capacity\n\n\| Setting \| Method \| GPUs \| BatchSize \| Budget per GPU \| Largest identities \| Published \| Model GiB at the answer \| Checked \| Status \|/);
  assert.doesNotMatch(md, /## All cells/, 'no cells table: every cell is an answer');
  assert.doesNotMatch(md, /\| - \| completed \| emulated rank/, 'no step time or throughput for an answer');
  const file = loaded().file;
  const mp = file.cells.find((c) => c.spec.strategy === 'model-parallel' && c.spec.ranks === 8 && c.spec.memoryBudget === 11 * 2 ** 30 && (c.spec.logits ?? 'materialized') === 'materialized')!;
  const row = md.split('\n').find((l) => l.includes(`| ${mp.capacity!.largestClasses.toLocaleString('en-US')} |`))!;
  assert.ok(row, 'the answer is in the table');
  assert.match(row, /\| 8 GPUs \| Model Parallel \| 8 \| 512 \| 11\.81 GB = 11 GiB \| [\d,]+ \| 1,000,000 \| [\d.]+ \| fits; [\d,]+: out of budget \| completed \|/);
  assert.doesNotMatch(md, /Interconnect profile/, 'a capacity answer models no communication');
  const html = htmlPage([loaded()], { charts: [] });
  assert.match(html, /<table class="capacity">/);
  assert.doesNotMatch(html, /<table class="cells">/);
});

test('values given on the command line are said beside the scenario description, budgets in both units', () => {
  const line = overridesLine(loaded({ gpuMemory: 80e9, batch: 256, strategy: ['model-parallel', 'partial-fc'] }).file)!;
  assert.equal(line, "Given on the command line, in place of the scenario's own values (which its description names): --gpu-memory 80 GB = 74.51 GiB; --batch 256; --strategy model-parallel, partial-fc.");
  const md = markdownSummary([loaded({ gpuMemory: 80e9 })]);
  assert.ok(md.indexOf(line.split(':')[0]) > md.indexOf('11 GiB as an RTX 2080 Ti'), 'after the description it corrects');
  assert.equal(overridesLine(loaded().file), undefined);
  assert.equal(overridesLine(loaded({ recordedRuns: 3 }).file), undefined, 'compare record bookkeeping is not an override');
});
