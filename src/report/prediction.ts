/**
 * Predicted cells beside the published figures they reproduce, with the error per row and, for a
 * row past the aims (images/s within 20%, memory within 15%), why: the reasons are the documented
 * miss list (bench/predict/known-misses.json), which the reproduction test checks is exactly the
 * set of rows that miss.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/binding.js';
import type { CellResult } from '../bench/results.js';
import type { PredictedFigures } from '../predict/training.js';
import { MB, fmt, methodName, predictedLabel, settingName } from './data.js';

export const THROUGHPUT_AIM = 0.2;
export const MEMORY_AIM = 0.15;

export interface KnownMiss {
  /** The cell's setting label ("1M@8"), strategy, target and which figure misses. */
  label: string;
  strategy: string;
  target: string;
  figure: 'memory' | 'throughput';
  why: string;
}

export function knownMisses(): KnownMiss[] {
  return (JSON.parse(readFileSync(join(packageRoot(), 'bench', 'predict', 'known-misses.json'), 'utf8')) as { misses: KnownMiss[] }).misses;
}

export interface PredictionError {
  cell: CellResult;
  /** The implementation compared with the published figure: PyTorch's PartialFC_V2 profile, or ours where it has none. */
  compared: 'pytorch' | 'ours';
  figures: PredictedFigures;
  memoryError?: number;
  throughputError?: number;
}

/** Predicted over published, minus one, for each published figure of a predicted cell. */
export function predictionErrors(cells: readonly CellResult[]): PredictionError[] {
  return cells
    .filter((c) => c.spec.mode === 'predict' && c.prediction && c.spec.published && (c.spec.published.memoryMB !== undefined || c.spec.published.imagesPerSecond !== undefined))
    .map((cell) => {
      const p = cell.prediction!;
      const compared = p.pytorch ? 'pytorch' : 'ours';
      const figures = p.pytorch ?? p.ours;
      const pub = cell.spec.published!;
      return {
        cell,
        compared,
        figures,
        ...(pub.memoryMB !== undefined ? { memoryError: figures.totalBytes / MB / pub.memoryMB - 1 } : {}),
        ...(pub.imagesPerSecond !== undefined ? { throughputError: figures.imagesPerSecond / pub.imagesPerSecond - 1 } : {}),
      };
    });
}

/** The figures of a row past the aims: 'memory', 'throughput'. */
export function misses(e: PredictionError): ('memory' | 'throughput')[] {
  const out: ('memory' | 'throughput')[] = [];
  if (e.memoryError !== undefined && Math.abs(e.memoryError) > MEMORY_AIM) out.push('memory');
  if (e.throughputError !== undefined && Math.abs(e.throughputError) > THROUGHPUT_AIM) out.push('throughput');
  return out;
}

export const PREDICTION_HEADER = [
  'Setting',
  'Method',
  'GPUs',
  'BatchSize',
  'Memory/M (published)',
  'Memory/M (predicted)',
  'Error',
  'Throughput img/sec (published)',
  'Throughput img/sec (predicted)',
  'Error',
  'Ours (predicted): Memory/M, img/sec',
  'Within the aims? Why not',
];

export const PREDICTION_NOTE = `Predicted: no kernel ran. The predicted figures are PyTorch's PartialFC_V2 profile (arcface_torch, the implementation the published figures come from) with the backbone, or ours where that profile has none (data parallel); ours is beside them. Error = predicted / published - 1. The aims: images/s within ${THROUGHPUT_AIM * 100}%, memory within ${MEMORY_AIM * 100}%; a row past them says why (bench/predict/known-misses.json). Memory/M in MB (10^6 bytes).`;

const pct = (x: number | undefined) => (x === undefined ? '-' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`);

export function predictionRows(cells: readonly CellResult[]): { rows: string[][]; errors: PredictionError[] } {
  const errors = predictionErrors(cells);
  const documented = knownMisses();
  const rows = errors.map((e) => {
    const { cell, figures } = e;
    const pub = cell.spec.published!;
    const target = cell.prediction!.target;
    const why = misses(e).map((figure) => {
      const known = documented.find((m) => m.label === cell.spec.label && m.strategy === cell.spec.strategy && m.target === target && m.figure === figure);
      return `${figure}: ${known?.why ?? 'not in the documented miss list'}`;
    });
    const label = `${predictedLabel(cell)}${e.compared === 'pytorch' ? ', PyTorch profile' : ', ours: no PyTorch profile'}`;
    return [
      settingName(cell),
      methodName(cell.spec),
      String(cell.spec.ranks),
      String(cell.spec.batch),
      fmt(pub.memoryMB),
      `${fmt(figures.totalBytes / MB)} (${label})`,
      pct(e.memoryError),
      fmt(pub.imagesPerSecond),
      `${fmt(figures.imagesPerSecond)} (${label})`,
      pct(e.throughputError),
      `${fmt(cell.prediction!.ours.totalBytes / MB)}, ${fmt(cell.prediction!.ours.imagesPerSecond)}`,
      why.length ? `no; ${why.join('; ')}` : 'yes',
    ];
  });
  return { rows, errors };
}
