/**
 * busbw: bus bandwidth against message size (log-log), one line per collective, from an
 * interconnect profile file (`pfc-bench calibrate` writes it; the chart is drawn from the file).
 * The fitted model's curve is drawn dashed beside the measured points.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { CONFIG, type ChartSpec } from './common.js';
import { PROFILE_SCHEMA, validateProfile, type ProfileFile } from '../../model/profile-file.js';
import { busFactor, collectiveSeconds } from '../../model/comm.js';
import { renderSvg, svgToPng } from '../render.js';

export function busbwChart(profile: ProfileFile): ChartSpec {
  const ranks = profile.context?.ranks ?? profile.gpusPerNode;
  const rows: Record<string, unknown>[] = [];
  for (const r of profile.measurements ?? []) {
    rows.push({ collective: r.collective, bytes: r.bytes, busbw: r.busbw, source: 'measured' });
    const modeled = collectiveSeconds({ kind: r.collective, label: '', bytes: r.bytes, ranks }, profile);
    if (modeled > 0) rows.push({ collective: r.collective, bytes: r.bytes, busbw: (r.bytes / modeled / 1e9) * busFactor(r.collective, ranks), source: 'fitted model' });
  }
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config: CONFIG,
    title: { text: `Bus bandwidth against message size: ${profile.name}`, subtitle: [profile.description ?? 'a hand-written profile', 'solid: measured; dashed: the fitted alpha-beta model'] },
    width: 560,
    height: 320,
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'bytes', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'message size (bytes, nccl-tests convention), log scale' },
      y: { field: 'busbw', type: 'quantitative', scale: { type: 'log' }, title: 'bus bandwidth (GB/s), log scale' },
      color: { field: 'collective', type: 'nominal', legend: { title: 'Collective', orient: 'bottom' } },
      strokeDash: { field: 'source', type: 'nominal', scale: { domain: ['measured', 'fitted model'], range: [[1, 0], [5, 4]] }, legend: null },
    },
  } as unknown as TopLevelSpec;
  return {
    name: 'busbw',
    title: 'Bus bandwidth against message size',
    caption: 'busbw = algbw x the nccl-tests factor of each collective; solid: measured, dashed: the fitted alpha-beta model.',
    spec,
  };
}

/** True when `path` holds an interconnect profile (pfc-bench report draws those as a chart). */
export function isProfileFile(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { schema?: unknown }).schema === PROFILE_SCHEMA;
  } catch {
    return false;
  }
}

/**
 * Draws the chart of a profile file into <outDir or the file's folder>/<file stem>-busbw.svg
 * (and .png when asked); returns the paths written.
 */
export async function renderProfileChart(profilePath: string, options: { outDir?: string; png?: boolean } = {}): Promise<string[]> {
  const profile = validateProfile(JSON.parse(readFileSync(profilePath, 'utf8')), profilePath);
  const chart = await renderSvg(busbwChart(profile));
  const dir = options.outDir ?? dirname(profilePath);
  mkdirSync(dir, { recursive: true });
  const stem = join(dir, `${basename(profilePath).replace(/\.json$/i, '')}-busbw`);
  writeFileSync(`${stem}.svg`, chart.svg);
  if (!options.png) return [`${stem}.svg`];
  writeFileSync(`${stem}.png`, svgToPng(chart.svg).png);
  return [`${stem}.svg`, `${stem}.png`];
}
