/**
 * One self-contained HTML page: inline SVG charts, the seed-layout tables, every cell, the
 * failed cells with their errors, and each run's context and configuration. No scripts and
 * nothing fetched: the only font is DejaVu Sans as a data: URL, styles are inline, and a
 * Content-Security-Policy forbids any other source, so the page opens from disk offline.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { CellResult, CellSpec } from '../bench/results.js';
import { FONT_FAMILY, fontFiles } from './fonts.js';
import { completed, countName, overridesLine, profileLines, reportCells, reportTitle, sideBySide, seedSettings, settingName, type LoadedResults } from './data.js';
import { CAPACITY_HEADER, CAPACITY_NOTE, CELLS_HEADER, NOTE, SEED_HEADER, capacityRow, cellRow, runLevelLines, seedRows, sideBySideTable } from './markdown.js';
import { PREDICTION_HEADER, PREDICTION_NOTE, predictionRows } from './prediction.js';
import type { RenderedChart } from './render.js';
import { modelOnlyNotes } from './table.js';

export function escapeHtml(text: unknown): string {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * A table cell: a figure with its provenance in brackets ("3.27 (emulated rank)") becomes the
 * figure over a small grey note, so the label stays next to the number without crowding it.
 */
function cellHtml(value: string): string {
  const m = /^(-?[\d.,]+x?) \((.+)\)$/.exec(value);
  if (m) return `<td><span class="num">${escapeHtml(m[1])}</span><span class="prov">${escapeHtml(m[2])}</span></td>`;
  const numeric = /^(-?[\d.,]+x?|-)$/.test(value);
  return numeric ? `<td><span class="num">${escapeHtml(value)}</span></td>` : `<td class="text">${escapeHtml(value)}</td>`;
}

function table(header: string[], rows: string[][], cls = ''): string {
  const head = `<thead><tr>${header.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr></thead>`;
  const body = rows.map((r) => `<tr>${r.map((v, i) => (i === 0 ? `<th scope="row">${escapeHtml(v)}</th>` : cellHtml(v))).join('')}</tr>`).join('\n');
  return `<div class="table-wrap"><table class="${cls}">${head}<tbody>\n${body}\n</tbody></table></div>`;
}

function keyValues(pairs: [string, unknown][]): string {
  return `<table class="kv"><tbody>${pairs
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(typeof v === 'object' ? JSON.stringify(v) : v)}</td></tr>`)
    .join('')}</tbody></table>`;
}

function specValue(key: keyof CellSpec, spec: CellSpec): string {
  const v = spec[key];
  if (key === 'margin') return `s ${spec.margin.s}, m1 ${spec.margin.m1}, m2 ${spec.margin.m2}, m3 ${spec.margin.m3}`;
  if (key === 'sgd') return `lr ${spec.sgd.lr}, momentum ${spec.sgd.momentum}, weight decay ${spec.sgd.weightDecay}`;
  if (key === 'classes') return `${v} (${countName(Number(v))})`;
  if (key === 'memoryBudget') return v ? `${v} bytes` : 'none';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Settings shared by every cell of a run (the ones that vary are in the cells table). */
function configuration(cells: readonly CellResult[]): { shared: [string, string][]; varying: string[] } {
  if (!cells.length) return { shared: [], varying: [] };
  const keys = Object.keys(cells[0].spec).filter((k) => k !== 'published' && k !== 'label') as (keyof CellSpec)[];
  const shared: [string, string][] = [];
  const varying: string[] = [];
  for (const key of keys) {
    const values = new Set(cells.map((c) => specValue(key, c.spec)));
    if (values.size === 1) shared.push([key === 'ranks' ? 'gpus (ranks)' : key, [...values][0]]);
    else varying.push(key === 'ranks' ? 'gpus' : key);
  }
  return { shared, varying };
}

/** DejaVu Sans (regular and bold, as the PNGs use) as data: URLs, so the page fetches no font. */
function fontFace(): string {
  let files;
  try {
    files = fontFiles();
  } catch {
    return '';
  }
  const faces: [string | undefined, number][] = [
    [files.regular, 400],
    [files.bold, 700],
  ];
  return faces
    .filter(([path]) => path && existsSync(path))
    .map(([path, weight]) => `@font-face { font-family: '${FONT_FAMILY}'; font-style: normal; font-weight: ${weight}; src: url(data:font/ttf;base64,${readFileSync(path!).toString('base64')}) format('truetype'); }\n`)
    .join('');
}

const STYLE = `
:root { color-scheme: light; }
body { font-family: '${FONT_FAMILY}', 'Bitstream Vera Sans', Verdana, sans-serif; margin: 0; color: #1d1d1f; background: #fafafa; line-height: 1.45; font-size: 14px; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 6px; }
h2 { font-size: 19px; margin: 34px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15.5px; margin: 22px 0 8px; }
p.lead { color: #444; margin: 0 0 8px; }
nav ul { padding-left: 18px; margin: 8px 0; columns: 2; }
.table-wrap { overflow-x: auto; margin: 6px 0 14px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #d6d6d6; padding: 4px 8px; text-align: right; vertical-align: top; }
thead th { background: #f0f2f5; text-align: center; font-weight: 600; }
tbody th { text-align: left; font-weight: normal; }
table.kv th { text-align: left; background: #f6f7f9; font-weight: 600; white-space: nowrap; }
table.kv td { text-align: left; font-family: 'DejaVu Sans Mono', monospace; font-size: 12px; word-break: break-word; }
tr.ratio th, tr.ratio td { background: #fbf6e9; font-weight: 600; }
td .num { white-space: nowrap; display: block; }
td .prov { display: block; white-space: nowrap; font-size: 11px; color: #6a6a6a; }
td.text { text-align: left; }
td.status-completed { color: #216e2a; }
td.status-oom, td.status-error { color: #a3221a; font-weight: 600; }
td.status-skipped { color: #8a6d00; }
figure { margin: 18px 0 28px; }
figure .chart { overflow-x: auto; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { color: #444; font-size: 13px; max-width: 900px; margin-top: 6px; }
pre { background: #f6f7f9; border: 1px solid #e0e0e0; padding: 8px 10px; white-space: pre-wrap; word-break: break-word; font-size: 12px; margin: 4px 0; }
.note { color: #444; font-size: 13px; max-width: 900px; }
.failed-cell { border-left: 4px solid #c0392b; padding: 4px 12px; margin: 10px 0; }
code { font-family: 'DejaVu Sans Mono', monospace; font-size: 12.5px; }
`;

export interface HtmlOptions {
  charts: readonly RenderedChart[];
  /** Charts that could not be rendered, with the reason, shown instead of silently dropped. */
  chartError?: string;
}

export function htmlPage(files: readonly LoadedResults[], options: HtmlOptions): string {
  const title = reportTitle(files);
  const multiple = files.length > 1;
  const parts: string[] = [];
  parts.push(`<header><h1>${escapeHtml(title)}</h1>`);
  for (const f of files) {
    const ctx = f.file.context;
    parts.push(
      `<p class="lead">${multiple ? `<strong>${escapeHtml(f.run)}</strong>: ` : ''}${escapeHtml(f.file.scenario.description)}${overridesLine(f.file) ? ` ${escapeHtml(overridesLine(f.file))}` : ''} ${f.file.cells.length && f.file.cells.every((c) => c.spec.mode === 'predict') ? 'Predicted (no kernel ran, every figure predicted for its target)' : 'Run'} ${escapeHtml(ctx.createdAt)} with ${escapeHtml(ctx.tool.name)} ${escapeHtml(ctx.tool.version)} (${escapeHtml(ctx.tool.gitRevision)}) on ${escapeHtml(ctx.hostname)}.</p>`,
    );
  }
  parts.push('</header>');
  parts.push(
    '<nav aria-label="Contents"><ul>' +
      ['<li><a href="#summary">Summary (seed layout)</a></li>', '<li><a href="#charts">Charts</a></li>', '<li><a href="#cells">All cells</a></li>', '<li><a href="#failed">Failed cells</a></li>', '<li><a href="#context">Context and configuration</a></li>'].join('') +
      '</ul></nav>',
  );

  // Summary in the seed's layout.
  parts.push('<section id="summary"><h2>Summary (seed layout)</h2>');
  let anySetting = false;
  for (const f of files) {
    for (const setting of seedSettings(reportCells([f]))) {
      anySetting = true;
      const { rows } = seedRows(setting);
      const n = setting.cells.length;
      parts.push(`<h3>${multiple ? `${escapeHtml(f.run)}: ` : ''}${escapeHtml(setting.label)}: ${escapeHtml(countName(setting.cells[0].spec.classes))} identities</h3>`);
      const html = table(SEED_HEADER, rows, 'seed');
      // Mark the ratio rows (they follow the method rows).
      let index = 0;
      parts.push(html.replace(/<tr>(?=<th scope="row">)/g, () => (index++ >= n ? '<tr class="ratio">' : '<tr>')));
    }
  }
  if (!anySetting) parts.push('<p class="note">No labelled settings with one cell per method in these results; see all cells below.</p>');
  parts.push(`<p class="note">${escapeHtml(NOTE)}</p></section>`);

  // Predicted cells beside the published figures, with the error per row.
  for (const f of files) {
    const { rows } = predictionRows(f.file.cells);
    if (!rows.length) continue;
    parts.push(`<section id="predicted"><h2>${multiple ? `${escapeHtml(f.run)}: ` : ''}Predicted against published</h2><p class="note">${escapeHtml(PREDICTION_NOTE)}</p>`);
    parts.push(table(PREDICTION_HEADER, rows, 'predicted'), '</section>');
  }

  // Charts.
  parts.push('<section id="charts"><h2>Charts</h2>');
  if (options.chartError) parts.push(`<p class="note"><strong>Charts could not be rendered:</strong> ${escapeHtml(options.chartError)}</p>`);
  for (const chart of options.charts) {
    parts.push(
      // Shown up to 1.3x the chart's own size (its text at about 14px), never wider than the page.
      `<figure id="figure-${escapeHtml(chart.name)}" class="chart-figure" data-chart="${escapeHtml(chart.name)}" aria-label="${escapeHtml(chart.title)}"><div class="chart" style="width: min(100%, ${Math.round(chart.width * 1.3)}px)">${chart.svg.replace(/^<\?xml[^>]*>\s*/, '')}</div><figcaption>${escapeHtml(chart.caption)}</figcaption></figure>`,
    );
  }
  if (!options.charts.length && !options.chartError) parts.push('<p class="note">No chart has data in these results.</p>');
  parts.push('</section>');

  // All cells.
  parts.push(`<section id="cells"><h2>${multiple ? 'All cells, side by side' : 'All cells'}</h2>`);
  if (multiple) {
    const view = sideBySide(files);
    const apart = runLevelLines(view);
    parts.push(`<p class="note">Each row is one configuration; each file's figures are in its own columns.${apart.length ? ` The runs differ in ${escapeHtml(apart.join('; '))}.` : ''}</p>`);
    const { header, rows } = sideBySideTable(view);
    parts.push(table(header, rows, 'cells side-by-side'));
  }
  for (const f of files) {
    // Capacity answers in their own table (an answer has no step time or throughput to show).
    const answers = f.file.cells.filter((c) => c.capacity || c.id.startsWith('capacity|'));
    if (answers.length) {
      parts.push(`<h3>Capacity${multiple ? ` of ${escapeHtml(f.run)}` : ''}</h3>`);
      parts.push(table(CAPACITY_HEADER, answers.map(capacityRow), 'capacity'));
      for (const n of modelOnlyNotes(answers)) parts.push(`<p class="note">${escapeHtml(n)}</p>`);
      parts.push(`<p class="note">${escapeHtml(CAPACITY_NOTE)}</p>`);
    }
  }
  for (const f of multiple ? [] : files) {
    const measured = f.file.cells.filter((c) => !(c.capacity || c.id.startsWith('capacity|')));
    if (!measured.length) continue;
    let html = table(CELLS_HEADER, measured.map(cellRow), 'cells');
    let i = 0;
    html = html.replace(/<tr>(<th scope="row">)/g, (_m, th) => `<tr data-status="${escapeHtml(measured[i++]?.status)}">${th}`);
    html = html.replace(/<td class="text">(completed|oom|error|skipped)<\/td><\/tr>/g, (_m, s) => `<td class="text status-${s}">${s}</td></tr>`);
    parts.push(html);
  }
  parts.push('</section>');

  // Failed cells.
  parts.push('<section id="failed"><h2>Failed cells</h2>');
  let anyFailed = false;
  for (const f of files) {
    for (const cell of f.file.cells.filter((c) => !completed(c))) {
      anyFailed = true;
      parts.push(
        `<div class="failed-cell" data-status="${escapeHtml(cell.status)}"><h3>${multiple ? `${escapeHtml(f.run)}: ` : ''}${escapeHtml(settingName(cell))}: <span class="status">${escapeHtml(cell.status)}</span></h3><p><code>${escapeHtml(cell.id)}</code></p><pre>${escapeHtml(cell.error ?? '(no error message)')}</pre></div>`,
      );
    }
  }
  if (!anyFailed) parts.push('<p class="note">Every cell completed.</p>');
  parts.push('</section>');

  // Context and configuration.
  parts.push('<section id="context"><h2>Context and configuration</h2>');
  for (const f of files) {
    const ctx = f.file.context;
    parts.push(`<h3>${escapeHtml(f.run)}</h3>`);
    parts.push(
      keyValues([
        ['results file', f.path],
        ['schema', `${f.file.schema} v${f.file.schemaVersion}`],
        ['scenario', f.file.scenario.name],
        ['scenario file', f.file.scenario.file],
        ['overrides', Object.keys(f.file.scenario.overrides ?? {}).length ? f.file.scenario.overrides : undefined],
        ['tool', `${ctx.tool.name} ${ctx.tool.version} (${ctx.tool.gitRevision})`],
        ['created', ctx.createdAt],
        ['node', ctx.node],
        ['platform', ctx.platform],
        ['host', ctx.hostname],
        ['cpu', `${ctx.cpu} (${ctx.cpuCount} CPUs)`],
        ...Object.entries(ctx.backend ?? {}).map(([k, v]): [string, unknown] => [`backend.${k}`, v]),
        ['command', `pfc-bench ${(ctx.argv ?? []).join(' ')}`],
      ]),
    );
    const profiles = profileLines(f.file.cells);
    if (profiles.length) {
      parts.push(`<h3>Interconnect ${profiles.length > 1 ? 'profiles' : 'profile'}${multiple ? ` of ${escapeHtml(f.run)}` : ''} (the modeled communication)</h3>`);
      parts.push(`<ul class="profiles">${profiles.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul>`);
    }
    const config = configuration(f.file.cells);
    parts.push(`<h3>Configuration shared by every cell${multiple ? ` of ${escapeHtml(f.run)}` : ''}</h3>`);
    parts.push(keyValues(config.shared));
    if (config.varying.length) parts.push(`<p class="note">Varies by cell (see the cells table and the CSV): ${escapeHtml(config.varying.join(', '))}.</p>`);
  }
  parts.push('</section>');

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; font-src data:; img-src data:">
<title>${escapeHtml(title)}</title>
<style>
${fontFace()}${STYLE}</style>
</head>
<body>
<main>
${parts.join('\n')}
</main>
</body>
</html>
`;
}
