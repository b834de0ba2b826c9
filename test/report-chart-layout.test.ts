/**
 * Charts stay readable as they fill up: the capacity chart with ten series over six groups has
 * a bounded width and no two texts drawn over each other (positions read from the SVG, widths
 * measured with the chart's own font). Issue 21: with 10 series it was 4,038 px wide with
 * overlapping labels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { capacityChart } from '../src/report/charts/capacity.js';
import { renderSvg } from '../src/report/render.js';
import { FontMetrics, fontFiles } from '../src/report/fonts.js';
import { readResultsFile } from '../src/bench/results.js';
import type { ReportCell } from '../src/report/data.js';
import { FIXTURE, overlappingTexts, svgTextBoxes } from './fixtures/report-helpers.js';

const font = new FontMetrics(readFileSync(fontFiles().regular));
const base = readResultsFile(FIXTURE).cells.find((c) => c.status === 'completed')!;

/** Ten methods (data parallel, model parallel, Partial FC at eight rates) x 2 GPU counts x 3 budgets. */
function tenSeries(): ReportCell[] {
  const methods = [
    { strategy: 'data-parallel', sampleRate: 1 },
    { strategy: 'model-parallel', sampleRate: 1 },
    ...[0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7].map((sampleRate) => ({ strategy: 'partial-fc', sampleRate })),
  ];
  const cells: ReportCell[] = [];
  for (const ranks of [8, 64]) {
    for (const gib of [11, 32, 80]) {
      methods.forEach((m, i) => {
        const largestClasses = Math.round(ranks * gib * 1e4 * (i + 1) * 1.37);
        const spec = { ...base.spec, ...m, ranks, batch: 64 * ranks, memoryBudget: gib * 2 ** 30, label: '' };
        const capacity = { budgetBytes: gib * 2 ** 30, largestClasses, modelBytes: 1, allocatedBytes: 1, confirmedFit: true, confirmedOomAbove: true, nextClassesTried: largestClasses + ranks };
        cells.push({ cell: { ...base, id: `capacity|${i}|${ranks}|${gib}`, spec, capacity }, run: 'cap', runIndex: 0 });
      });
    }
  }
  return cells;
}

test('capacity chart, ten series over six groups: bounded width, every bar labelled, no text over another', async () => {
  const cells = tenSeries();
  const chart = await renderSvg(capacityChart(cells, false)!);
  assert.deepEqual(chart.warnings, []);
  assert.ok(chart.width <= 1000, `${chart.width} px wide`);
  const boxes = svgTextBoxes(chart.svg, (text, size) => font.width(text, size));
  const texts = boxes.map((b) => b.text);
  assert.ok(texts.includes('Partial FC 0.01 (sparse)') && texts.includes('Data Parallel'), 'the legend names the methods');
  for (const group of ['8 GPUs · 11 GiB', '64 GPUs · 80 GiB']) assert.ok(texts.includes(group), group);
  const labels = boxes.filter((b) => /^[\d.]+[kMB]$/.test(b.text));
  assert.ok(labels.length >= cells.length, `${labels.length} value labels for ${cells.length} bars`);
  for (const box of boxes) assert.ok(box.x1 <= chart.width + 0.5 && box.x0 >= -0.5, `'${box.text}' is cut off at ${box.x0.toFixed(0)}-${box.x1.toFixed(0)} (width ${chart.width})`);
  const overlaps = overlappingTexts(boxes);
  assert.deepEqual(overlaps.map(([a, b]) => `'${a.text}' over '${b.text}'`), []);
});

test('the text-box reader finds overlaps it should: two labels at one place', () => {
  const svg = '<svg><g transform="translate(10,20)"><text text-anchor="start" transform="translate(0,0)" font-size="10px">1.2M</text><text text-anchor="middle" transform="translate(5,2)" font-size="10px">3.4M</text></g></svg>';
  const boxes = svgTextBoxes(svg, (text, size) => font.width(text, size));
  assert.equal(boxes.length, 2);
  assert.equal(boxes[0].x0, 10);
  assert.equal(boxes[0].y1, 22);
  assert.equal(overlappingTexts(boxes).length, 1);
});
