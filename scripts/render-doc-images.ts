/**
 * Renders the example charts of docs/reading-reports.md into docs/images/, from committed
 * results files, with the same code `pfc-bench report` uses (buildCharts, renderSvg; busbwChart
 * for an interconnect profile). Nothing in a chart depends on the date or the machine that
 * renders it, only on the results file, the code and the DejaVu Sans font (its advance widths
 * lay out the text), so test/docs-images.test.ts re-renders them and requires the committed
 * files to be byte-identical.
 *
 *   node dist/scripts/render-doc-images.js [OUT_DIR]     (default: docs/images)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadResults } from '../src/report/hook.js';
import { reportCells } from '../src/report/data.js';
import { buildCharts } from '../src/report/charts.js';
import { busbwChart } from '../src/report/charts/busbw.js';
import { renderSvg } from '../src/report/render.js';
import { validateProfile } from '../src/model/profile-file.js';
import type { ChartSpec } from '../src/report/charts.js';

/** The repository's root (this file runs as dist/scripts/render-doc-images.js). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** One example image: the chart `chart` of `source` (a results file, or a profile for busbw). */
export interface DocImage {
  file: string;
  source: string;
  chart: string;
}

export const DOC_IMAGES: readonly DocImage[] = [
  { file: 'seed.svg', source: 'reports/reference/seed-cpu.json', chart: 'seed' },
  { file: 'phases.svg', source: 'reports/reference/seed-cpu.json', chart: 'phases' },
  { file: 'memory.svg', source: 'reports/reference/seed-cpu.json', chart: 'memory' },
  { file: 'sweep.svg', source: 'test/fixtures/report-results.json', chart: 'sweep' },
  { file: 'capacity.svg', source: 'reports/reference/capacity.json', chart: 'capacity' },
  { file: 'busbw.svg', source: 'reports/reference/fidelity-cpu4/profile.json', chart: 'busbw' },
];

async function chartOf(image: DocImage, root: string): Promise<ChartSpec> {
  const path = join(root, image.source);
  if (image.chart === 'busbw') return busbwChart(validateProfile(JSON.parse(readFileSync(path, 'utf8')), path));
  // loadResults names the run after the path it is given: keep it relative, as in the docs.
  const files = loadResults([image.source].map((p) => join(root, p))).map((f) => ({ ...f, path: image.source }));
  const chart = buildCharts(reportCells(files)).find((c) => c.name === image.chart);
  if (!chart) throw new Error(`${image.source} has no data for the ${image.chart} chart`);
  return chart;
}

/** Renders every image into `outDir` and returns the paths written. */
export async function renderDocImages(outDir: string, root = REPO_ROOT): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const image of DOC_IMAGES) {
    const rendered = await renderSvg(await chartOf(image, root));
    if (rendered.warnings.length) throw new Error(`${image.file}: ${rendered.warnings.join('; ')}`);
    const path = join(outDir, image.file);
    // As `pfc-bench report` writes a chart's SVG file.
    writeFileSync(path, `<?xml version="1.0" encoding="UTF-8"?>\n${rendered.svg}\n`);
    written.push(path);
  }
  return written;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? join(REPO_ROOT, 'docs/images'));
  renderDocImages(out).then(
    (paths) => {
      for (const p of paths) process.stdout.write(`${p}\n`);
    },
    (error: unknown) => {
      process.stderr.write(`render-doc-images: ${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}
