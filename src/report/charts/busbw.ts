/**
 * busbw: bus bandwidth against message size (log-log), one line per collective, from an
 * interconnect profile file (`pfc-bench calibrate` writes it; the chart is drawn from the file).
 * The fitted model's curve is drawn dashed beside the measured points.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { TopLevelSpec } from 'vega-lite';
import { CONFIG, type ChartSpec } from './common.js';
import { validateProfile, type ProfileFile } from '../../model/profile-file.js';
import { collectiveSeconds } from '../../model/comm.js';
import { busFactor } from '../../model/comm.js';
import { renderSvg } from '../render.js';

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
    title: { text: `Bus bandwidth against message size: ${profile.name}`, subtitle: profile.description },
    width: 560,
    height: 320,
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'bytes', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'message size (bytes, nccl-tests convention), log scale' },
      y: { field: 'busbw', type: 'quantitative', scale: { type: 'log' }, title: 'bus bandwidth (GB/s), log scale' },
      color: { field: 'collective', type: 'nominal', legend: { title: 'Collective', orient: 'bottom' } },
      strokeDash: { field: 'source', type: 'nominal', scale: { domain: ['measured', 'fitted model'], range: [[1, 0], [5, 4]] }, legend: { title: 'Figures', orient: 'bottom' } },
    },
  } as unknown as TopLevelSpec;
  return {
    name: 'busbw',
    title: 'Bus bandwidth against message size',
    caption: 'busbw = algbw x the nccl-tests factor of each collective; solid: measured, dashed: the fitted alpha-beta model.',
    spec,
  };
}

/** Draws the chart of a profile file into <file without .json>-busbw.svg; returns that path. */
export async function renderProfileChart(profilePath: string): Promise<string> {
  const profile = validateProfile(JSON.parse(readFileSync(profilePath, 'utf8')), profilePath);
  const chart = await renderSvg(busbwChart(profile));
  const out = `${profilePath.replace(/\.json$/i, '')}-busbw.svg`;
  writeFileSync(out, chart.svg);
  return out;
}
