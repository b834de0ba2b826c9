/**
 * Every chart renders from a results file produced by a real run (test/fixtures), without a
 * browser: Vega-Lite compiles without warnings, the SVG holds the expected marks and legible
 * text in DejaVu Sans, and the PNG decodes at the expected size with its text drawn.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Resvg } from '@resvg/resvg-js';
import { loadResults } from '../src/report/hook.js';
import { countName, fmt, identitySweeps, reportCells, seedSettings, settingRatios, type LoadedResults } from '../src/report/data.js';
import { buildCharts, logTicks, type ChartSpec } from '../src/report/charts.js';
import { renderSvg, svgToPng, type RenderedChart } from '../src/report/render.js';
import { FONT_FAMILY, fontFiles } from '../src/report/fonts.js';
import { FIXTURE, countRole, pngSize, svgTexts } from './fixtures/report-helpers.js';

const files = loadResults([FIXTURE]);
const cells = reportCells(files);

async function chart(name: string, specs: ChartSpec[] = buildCharts(cells)): Promise<RenderedChart> {
  const spec = specs.find((c) => c.name === name);
  assert.ok(spec, `chart '${name}' was not built; built: ${specs.map((c) => c.name).join(', ')}`);
  return renderSvg(spec);
}

/** Dark pixels of an SVG rendered with only DejaVu Sans available. */
function darkPixels(svg: string): number {
  const { regular, bold } = fontFiles();
  const image = new Resvg(svg, { font: { loadSystemFonts: false, fontFiles: [regular, ...(bold ? [bold] : [])], defaultFontFamily: FONT_FAMILY } }).render();
  const px = image.pixels;
  let dark = 0;
  for (let i = 0; i < px.length; i += 4) if (px[i] < 100 && px[i + 1] < 100 && px[i + 2] < 100 && px[i + 3] > 200) dark++;
  return dark;
}

function checkText(c: RenderedChart, expected: string[]): void {
  const texts = svgTexts(c.svg);
  assert.ok(texts.length >= 10, `${c.name}: only ${texts.length} text elements`);
  for (const t of texts) {
    assert.ok(t.content.length > 0, `${c.name}: an empty <text> element`);
    assert.equal(t.fontFamily, FONT_FAMILY, `${c.name}: text '${t.content}' has font-family ${t.fontFamily}`);
  }
  const all = texts.map((t) => t.content).join('\n');
  for (const e of expected) assert.ok(all.includes(e), `${c.name}: no text '${e}' in:\n${all}`);
}

function checkPng(c: RenderedChart): void {
  const image = svgToPng(c.svg, 2);
  const size = pngSize(image.png);
  assert.deepEqual(size, { width: Math.round(c.width * 2), height: Math.round(c.height * 2) }, `${c.name}: PNG size`);
  assert.deepEqual(size, { width: image.width, height: image.height }, `${c.name}: resvg's own size`);
  assert.ok(c.width > 200 && c.height > 150, `${c.name}: ${c.width}x${c.height} is too small to read`);
  // Text must be drawn: the same picture without its <text> elements has clearly fewer dark pixels.
  const withText = darkPixels(c.svg);
  const withoutText = darkPixels(c.svg.replace(/<text\b[\s\S]*?<\/text>/g, ''));
  assert.ok(withText > withoutText + 500, `${c.name}: text is not drawn in the PNG (${withText} vs ${withoutText} dark pixels)`);
}

test('the fixture is a real run: schema, context, completed and failed cells', () => {
  const f: LoadedResults = files[0];
  assert.equal(f.file.schema, 'pfc-bench/results');
  assert.equal(f.file.context.argv[0], 'run');
  assert.equal(f.file.scenario.name, 'report-fixture');
  assert.ok(f.file.cells.filter((c) => c.status === 'completed' && c.timing && c.memory).length >= 10);
  assert.ok(f.file.cells.some((c) => c.status === 'oom' && c.error));
});

test('the fixture yields the seed, sweep, phases and memory charts; no capacity chart without capacity data', () => {
  assert.deepEqual(
    buildCharts(cells).map((c) => c.name),
    ['seed', 'sweep', 'phases', 'memory'],
  );
});

test('seed chart: ours and published bars per setting, values and legends legible', async () => {
  const c = await chart('seed');
  assert.deepEqual(c.warnings, []);
  // 2 settings x 2 methods x (ours + published) x 2 metrics.
  assert.equal(countRole(c.svg, 'bar'), 16);
  checkText(c, ['Throughput and memory by method', '20k@8', '200k@64', 'ours (emulated)', 'published', 'Model Parallel', 'Partial FC 0.1 (sparse)', '10408', '12600', 'Throughput (images/s)', 'Memory per GPU (MB)']);
  checkPng(c);
});

test('sweep chart: one line per strategy over identity count, log axis', async () => {
  const c = await chart('sweep');
  assert.deepEqual(c.warnings, []);
  // Lines: 2 methods x 2 panels x (ours + published).
  assert.ok(countRole(c.svg, 'line mark') >= 4);
  // Points: 4 class counts x 2 methods x 2 panels, plus the published points at 20k.
  assert.ok(countRole(c.svg, 'point') >= 16);
  checkText(c, ['Throughput and memory against identity count', 'identities (classes), log scale', '5k', '20k', '80k', '320k', 'Model Parallel', 'Partial FC 0.1 (sparse)']);
  checkPng(c);
});

test('phase chart: a stacked bar per completed cell with its total', async () => {
  const c = await chart('phases');
  assert.deepEqual(c.warnings, []);
  const completed = files[0].file.cells.filter((x) => x.status === 'completed').length;
  assert.ok(countRole(c.svg, 'bar') >= completed * 4, `${countRole(c.svg, 'bar')} bars for ${completed} cells`);
  checkText(c, ["Where each step's time goes", 'milliseconds per step', 'gemm', 'softmax', 'communication (modeled)', ' ms']);
  checkPng(c);
});

test('phase chart: each label is the step time (one communication counted), inside the plot, the legend below', () => {
  const spec = buildCharts(cells).find((x) => x.name === 'phases')!.spec as unknown as {
    layer: { data: { values: Record<string, unknown>[] }; encoding: Record<string, { scale?: { domainMax?: number }; legend?: { orient?: string } }> }[];
  };
  const [bars, labels] = spec.layer;
  const done = cells.filter((rc) => rc.cell.status === 'completed' && rc.cell.timing);
  const texts = labels.data.values.map((v) => v.text);
  assert.deepEqual(texts, done.map((rc) => `${fmt(rc.cell.timing!.stepMs.median)} ms`), 'the label is the step time');
  for (const rc of done) assert.equal(rc.cell.timing!.phasesMs.communication, rc.cell.timing!.modeledCommMs, 'communication counted once: the modeled time');
  assert.ok(!bars.data.values.some((v) => v.phase === 'communication'), 'no measured communication segment beside the modeled one (emulated cells)');
  const longest = Math.max(...labels.data.values.map((v) => v.end as number));
  assert.ok(bars.encoding.x.scale!.domainMax! >= longest * 1.2, 'room for the label past the longest bar');
  assert.equal(bars.encoding.color.legend!.orient, 'bottom', 'the legend is not beside the labels');
});

test('memory chart: measured vs modeled per category, one panel per completed cell', async () => {
  const c = await chart('memory');
  assert.deepEqual(c.warnings, []);
  assert.ok(countRole(c.svg, 'bar') >= 10 * 2 * 6);
  checkText(c, ['Measured vs modeled memory per category', 'measured (at peak)', 'modeled', 'centres', 'optimizer', 'logits']);
  checkPng(c);
});

test('capacity chart renders when cells carry capacity data', async () => {
  // Give the fixture's seed cells a capacity answer shaped as `pfc-bench capacity` writes it,
  // with the published figures of the seed's chart.
  const withCapacity = cells.map((rc) => {
    const s = rc.cell.spec;
    if (!['20k@8', '200k@64'].includes(s.label)) return rc;
    const ours = s.strategy === 'partial-fc' ? (s.ranks === 8 ? 12e6 : 110e6) : s.ranks === 8 ? 1.2e6 : 11e6;
    const published = s.strategy === 'partial-fc' ? (s.ranks === 8 ? 10e6 : 100e6) : s.ranks === 8 ? 1e6 : 10e6;
    const budgetBytes = 11 * 2 ** 30;
    const capacity = { budgetBytes, largestClasses: ours, modelBytes: budgetBytes, allocatedBytes: budgetBytes, confirmedFit: true, confirmedOomAbove: true, nextClassesTried: ours + s.ranks };
    return { ...rc, cell: { ...rc.cell, spec: { ...s, published: { source: 'seed chart', largestClasses: published } }, capacity } };
  });
  const specs = buildCharts(withCapacity);
  assert.deepEqual(specs.map((c) => c.name), ['seed', 'sweep', 'capacity', 'phases', 'memory']);
  const c = await chart('capacity', specs);
  assert.deepEqual(c.warnings, []);
  assert.equal(countRole(c.svg, 'bar'), 8);
  checkText(c, ['Capacity: the largest identity count that fits', '8 GPUs · 11 GiB', '64 GPUs · 11 GiB', '100M', '1.2M', 'identities, log scale']);
  checkPng(c);
});

test('log ticks cover the data with readable steps', () => {
  assert.deepEqual(logTicks([3, 40]), [1, 2, 5, 10, 20, 50, 100]);
  assert.deepEqual(logTicks([0.4, 5000]), [0.1, 1, 10, 100, 1000, 10000]);
});

test('identity sweeps group cells that differ only in classes (nested settings such as the margin count)', () => {
  const sweepCells = cells.filter((rc) => rc.cell.spec.ranks === 8 && rc.cell.status === 'completed');
  assert.equal(identitySweeps(sweepCells).length, 1);
  // The same cells with another margin are another sweep, not more points on the same lines.
  const arcface = sweepCells.map((rc, i) => ({ ...rc, cell: { ...rc.cell, id: `${rc.cell.id}-arc${i}`, spec: { ...rc.cell.spec, margin: { s: 64, m1: 1, m2: 0.5, m3: 0 } } } }));
  const sweeps = identitySweeps([...sweepCells, ...arcface]);
  assert.equal(sweeps.length, 2);
  for (const sweep of sweeps) for (const list of sweep.series.values()) assert.deepEqual(list.map((c) => c.spec.classes), [5000, 20000, 80000, 320000]);
});

test('fused logits are a legend entry beside materialized: same sweep, same chart, their own line and bars', async () => {
  const sweepCells = cells.filter((rc) => rc.cell.spec.ranks === 8 && rc.cell.status === 'completed');
  const fused = sweepCells.map((rc, i) => ({ ...rc, cell: { ...rc.cell, id: `${rc.cell.id}|fused${i}`, spec: { ...rc.cell.spec, logits: 'fused' as const, tile: 0 } } }));
  const sweeps = identitySweeps([...sweepCells, ...fused]);
  assert.equal(sweeps.length, 1, 'fused cells join the materialized sweep');
  const names = [...sweeps[0].series.keys()];
  for (const name of ['Model Parallel', 'Model Parallel, fused logits (ours)', 'Partial FC 0.1 (sparse)', 'Partial FC 0.1 (sparse), fused logits (ours)']) {
    assert.ok(names.includes(name), `series '${name}' in ${names.join(', ')}`);
  }
  const specs = buildCharts([...cells, ...fused]);
  assert.deepEqual(specs.map((c) => c.name), buildCharts(cells).map((c) => c.name), 'no new chart');
  const c = await chart('sweep', specs);
  assert.deepEqual(c.warnings, []);
  checkText(c, ['Model Parallel', 'Model Parallel, fused logits (ours)', 'Partial FC 0.1 (sparse), fused logits (ours)']);
});

test('seed ratios with fused cells: Partial FC over model parallel with the same logits, each fused cell over its materialized twin', () => {
  const seeded = cells.filter((rc) => rc.cell.spec.label && rc.cell.status === 'completed');
  const fused = seeded.map((rc, i) => ({
    ...rc,
    cell: { ...rc.cell, id: `${rc.cell.id}|fused${i}`, spec: { ...rc.cell.spec, logits: 'fused' as const, tile: 0, published: undefined }, memory: { ...rc.cell.memory!, peakBytes: rc.cell.memory!.peakBytes / 2 } },
  }));
  const settings = seedSettings([...seeded, ...fused]);
  assert.ok(settings.length > 0);
  for (const setting of settings) {
    const ratios = settingRatios(setting);
    const pair = (method: string, base: string) => ratios.find((r) => r.method === method && r.base === base);
    assert.ok(pair('Partial FC 0.1 (sparse)', 'Model Parallel'), `${setting.label}: Partial FC over model parallel`);
    assert.ok(pair('Partial FC 0.1 (sparse), fused logits (ours)', 'Model Parallel, fused logits (ours)'), `${setting.label}: fused over fused`);
    const mp = pair('Model Parallel, fused logits (ours)', 'Model Parallel');
    assert.ok(mp, `${setting.label}: fused model parallel over materialized`);
    assert.equal(mp.memory, 0.5, 'fused memory halved in this made-up copy');
    assert.ok(pair('Partial FC 0.1 (sparse), fused logits (ours)', 'Partial FC 0.1 (sparse)'));
  }
});

test('a sweep over --sample-rate gets a chart of step time and memory against the rate (issue 21)', async () => {
  // The fixture's Partial FC cells of the 8-GPU identity sweep at four rates, their figures scaled by the rate.
  const pfc = cells.filter((rc) => rc.cell.spec.strategy === 'partial-fc' && rc.cell.spec.ranks === 8 && rc.cell.status === 'completed' && rc.cell.spec.label === 'sweep');
  assert.ok(pfc.length >= 2);
  const rates = [0.05, 0.1, 0.3, 1];
  const swept = pfc.flatMap((rc) =>
    rates.map((sampleRate, i) => ({
      ...rc,
      cell: {
        ...rc.cell,
        id: `${rc.cell.id}|rate${sampleRate}`,
        spec: { ...rc.cell.spec, sampleRate },
        timing: { ...rc.cell.timing!, stepMs: { ...rc.cell.timing!.stepMs, median: rc.cell.timing!.stepMs.median * (1 + i) } },
        memory: { ...rc.cell.memory!, peakBytes: rc.cell.memory!.peakBytes * (1 + i) },
      },
    })),
  );
  const specs = buildCharts(swept);
  const spec = specs.find((c) => c.name === 'sample-rate');
  assert.ok(spec, `built: ${specs.map((c) => c.name).join(', ')}`);
  const data = (spec.spec as unknown as { data: { values: { series: string; rate: number; metric: string; value: number }[] } }).data.values;
  const first = pfc[0].cell;
  const line = data.filter((r) => r.metric === 'Step time (ms)' && r.series === `${countName(first.spec.classes)}@8, batch ${first.spec.batch} · Partial FC (sparse)`);
  assert.deepEqual(line.map((r) => r.rate), rates, 'one point per rate, in order');
  assert.deepEqual(line.map((r) => r.value), rates.map((_, i) => first.timing!.stepMs.median * (1 + i)), 'the step time of each cell');
  const c = await renderSvg(spec);
  assert.deepEqual(c.warnings, []);
  checkText(c, ['Step time and memory against the sample rate', 'sample rate (--sample-rate), log scale', '0.05', '0.3', 'Step time (ms), log scale', 'Memory per GPU (MB), log scale', 'Partial FC (sparse)']);
  checkPng(c);
  assert.equal(buildCharts(cells).some((x) => x.name === 'sample-rate'), false, 'no chart without two rates');
});
