/** What the report's charts share: config, colours, number formats and the chart type. */
import type { TopLevelSpec } from 'vega-lite';
import { methodColours } from '../../bench/method.js';
import { FONT_FAMILY } from '../fonts.js';
import { methodName, methodOrder, type ReportCell } from '../data.js';

export interface ChartSpec {
  /** File stem: <name>-charts/<name>.svg */
  name: string;
  title: string;
  /** One or two sentences printed under the chart in the HTML page. */
  caption: string;
  spec: TopLevelSpec;
}

export const CHART_NAMES = ['seed', 'sweep', 'sample-rate', 'capacity', 'phases', 'memory'] as const;

export const CONFIG = {
  font: FONT_FAMILY,
  background: 'white',
  padding: 10,
  view: { stroke: '#d0d0d0' },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', labelLimit: 360, gridColor: '#e8e8e8' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 360, symbolSize: 120 },
  header: { labelFontSize: 12, titleFontSize: 12, labelLimit: 300 },
  title: { fontSize: 16, anchor: 'start', offset: 12, subtitleFontSize: 11.5, subtitleColor: '#444', subtitlePadding: 6 },
  text: { fontSize: 10.5 },
} as const;

/** A colour per method, the same in every chart: each strategy's colours (its descriptor's), cycled. */
export function methodScale(cells: readonly ReportCell[]): { domain: string[]; range: string[] } {
  const specs = new Map<string, ReportCell['cell']['spec']>();
  for (const rc of cells) specs.set(methodName(rc.cell.spec), rc.cell.spec);
  const domain = [...specs.keys()].sort((a, b) => methodOrder(specs.get(a)!) - methodOrder(specs.get(b)!));
  // Each palette (a strategy's, or its fused variant's) is cycled on its own.
  const used = new Map<string, number>();
  const range = domain.map((name) => {
    const colours = methodColours(specs.get(name)!);
    const palette = colours.join();
    const n = used.get(palette) ?? 0;
    used.set(palette, n + 1);
    return colours[n % colours.length];
  });
  return { domain, range };
}

export function anyEmulated(cells: readonly ReportCell[]): boolean {
  return cells.some((rc) => rc.cell.spec.mode === 'emulate' || rc.cell.timing?.modeled);
}

/**
 * Axis labels: plain numbers below a million ("12,000"), SI prefixes above ("1.5M"), never milli
 * ("100m" MB) or a shared prefix ("0k"), which d3's "~s" would print.
 */
export const NUMBER_LABEL = "abs(datum.value) >= 1e6 ? replace(format(datum.value, '.3~s'), 'G', 'B') : format(datum.value, ',~g')";

/** Identity counts: always with SI prefixes ("5k", "1M", "1B"). */
export const COUNT_LABEL = "replace(format(datum.value, '.3~s'), 'G', 'B')";

/** Tick values for a log axis: powers of ten, with 2 and 5 between them on short ranges. */
export function logTicks(values: readonly number[]): number[] {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v));
  if (!positive.length) return [1];
  const lo = Math.floor(Math.log10(Math.min(...positive)));
  const hi = Math.ceil(Math.log10(Math.max(...positive)));
  const steps = hi - lo <= 2 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e++) for (const m of steps) ticks.push(Number((m * 10 ** e).toPrecision(6)));
  return ticks.filter((t) => t <= 10 ** hi);
}

/** Breaks a subtitle into lines of about `width` characters, so a long note cannot widen a chart. */
export function wrap(lines: readonly string[], width = 96): string[] {
  const out: string[] = [];
  for (const line of lines) {
    let current = '';
    for (const word of line.split(/\s+/)) {
      if (current && current.length + 1 + word.length > width) {
        out.push(current);
        current = word;
      } else current = current ? `${current} ${word}` : word;
    }
    if (current) out.push(current);
  }
  return out;
}

export const THROUGHPUT = 'Throughput (images/s)';
/** Room above the tallest bar for its value label. */
export const HEADROOM = 1.12;
export const MEMORY = 'Memory per GPU (MB)';

// What every chart reads from the report's data, in one import.
export {
  MB,
  MEMORY_CATEGORIES,
  PHASES,
  bytesLabel,
  capacityOf,
  cellName,
  completed,
  countLabel,
  fmt,
  identitySweeps,
  rateSweeps,
  methodName,
  methodOrder,
  seedSettings,
  uniqueNames,
  type ReportCell,
} from '../data.js';
