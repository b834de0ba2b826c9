/**
 * Renders the report of one or more results files: a self-contained HTML page, a Markdown
 * summary, a CSV of all cells, and the charts as SVG and PNG. `pfc-bench report` calls
 * renderReport; `pfc-bench run` calls renderReportFor at its end.
 *
 * Default output: next to the first results file, <name>.html, <name>.md, <name>.csv and
 * <name>-charts/<chart>.svg|png, where <name> is the results file's stem, or every file's stem
 * joined by '+' (A+B) for several.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { readResultsFile } from '../bench/results.js';
import { reportCells, reportStem, runName, uniqueRunNames, type LoadedResults } from './data.js';
import { buildCharts } from './charts.js';
import { renderSvg, svgToPng, type RenderedChart } from './render.js';
import { markdownSummary } from './markdown.js';
import { cellsCsv } from './csv.js';
import { htmlPage } from './html.js';

export const REPORT_FORMATS = ['html', 'md', 'csv', 'svg', 'png'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportOptions {
  /** Output folder (default: the first results file's folder). */
  outDir?: string;
  formats?: readonly ReportFormat[];
  /** When true (the default), a chart that cannot be rendered is an error; otherwise a warning. */
  strictCharts?: boolean;
  /** PNG scale factor (2 = twice the SVG's size). */
  pngScale?: number;
  warn?: (message: string) => void;
}

export interface ReportOutput {
  /** Every file written, main files first. */
  written: string[];
  html?: string;
  markdown?: string;
  csv?: string;
  chartDir?: string;
  charts: { name: string; svg?: string; png?: string; width: number; height: number; pngWidth?: number; pngHeight?: number; warnings: string[] }[];
}

/** Reads and checks results files; an unknown schema version is a clear error naming the file. */
export function loadResults(paths: readonly string[]): LoadedResults[] {
  if (!paths.length) throw new Error('no results files given');
  return uniqueRunNames(
    paths.map((path) => {
      const file = readResultsFile(path);
      return { path, run: runName(path, file), file };
    }),
  );
}

export async function renderCharts(files: readonly LoadedResults[]): Promise<RenderedChart[]> {
  const specs = buildCharts(reportCells(files));
  const out: RenderedChart[] = [];
  for (const spec of specs) out.push(await renderSvg(spec));
  return out;
}

export async function renderReport(paths: readonly string[], options: ReportOptions = {}): Promise<ReportOutput> {
  const files = loadResults(paths);
  const formats = new Set(options.formats ?? REPORT_FORMATS);
  const outDir = options.outDir ?? dirname(paths[0]);
  // Named after every file it covers: A.json and B.json give A+B.html, never A.html alone.
  const stem = reportStem(files);
  const chartDir = join(outDir, `${stem}-charts`);
  const output: ReportOutput = { written: [], charts: [] };
  mkdirSync(outDir, { recursive: true });

  let charts: RenderedChart[] = [];
  let chartError: string | undefined;
  if (formats.has('html') || formats.has('svg') || formats.has('png')) {
    try {
      charts = await renderCharts(files);
    } catch (error) {
      if (options.strictCharts !== false) throw error;
      chartError = (error as Error).message;
      options.warn?.(`charts skipped: ${chartError}`);
    }
  }
  for (const chart of charts) for (const w of chart.warnings) options.warn?.(`chart ${chart.name}: ${w}`);

  const chartFiles: { title: string; path: string }[] = [];
  if ((formats.has('svg') || formats.has('png')) && charts.length) {
    mkdirSync(chartDir, { recursive: true });
    output.chartDir = chartDir;
  }
  for (const chart of charts) {
    const entry: ReportOutput['charts'][number] = { name: chart.name, width: chart.width, height: chart.height, warnings: chart.warnings };
    if (formats.has('svg')) {
      entry.svg = join(chartDir, `${chart.name}.svg`);
      writeFileSync(entry.svg, `<?xml version="1.0" encoding="UTF-8"?>\n${chart.svg}\n`);
      chartFiles.push({ title: chart.title, path: relative(outDir, entry.svg) });
    }
    if (formats.has('png')) {
      const image = svgToPng(chart.svg, options.pngScale ?? 2);
      entry.png = join(chartDir, `${chart.name}.png`);
      entry.pngWidth = image.width;
      entry.pngHeight = image.height;
      writeFileSync(entry.png, image.png);
      if (!formats.has('svg')) chartFiles.push({ title: chart.title, path: relative(outDir, entry.png) });
    }
    output.charts.push(entry);
  }

  if (formats.has('html')) {
    output.html = join(outDir, `${stem}.html`);
    writeFileSync(output.html, htmlPage(files, { charts, chartError }));
    output.written.push(output.html);
  }
  if (formats.has('md')) {
    output.markdown = join(outDir, `${stem}.md`);
    writeFileSync(output.markdown, markdownSummary(files, { charts: chartFiles }));
    output.written.push(output.markdown);
  }
  if (formats.has('csv')) {
    output.csv = join(outDir, `${stem}.csv`);
    writeFileSync(output.csv, cellsCsv(files));
    output.written.push(output.csv);
  }
  for (const c of output.charts) {
    if (c.svg) output.written.push(c.svg);
    if (c.png) output.written.push(c.png);
  }
  return output;
}

/**
 * The report `pfc-bench run` writes at its end, next to the results file. A chart that cannot
 * be rendered (no DejaVu Sans, say) is reported on stderr and the rest is still written.
 */
export async function renderReportFor(resultPaths: string[]): Promise<string[]> {
  const output = await renderReport(resultPaths, {
    strictCharts: false,
    warn: (message) => process.stderr.write(`pfc-bench report: ${message}\n`),
  });
  return [...[output.html, output.markdown, output.csv].filter((p): p is string => p !== undefined), ...(output.chartDir ? [`${output.chartDir}/`] : [])];
}
