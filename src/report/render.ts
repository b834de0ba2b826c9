/**
 * Vega-Lite -> Vega -> SVG without a browser (a headless View with renderer 'none'), and
 * SVG -> PNG through resvg with DejaVu Sans loaded explicitly (no system font lookup, so a
 * missing font is an error here, not text that silently vanishes from the picture).
 */
import { compile } from 'vega-lite';
import * as vega from 'vega';
import { Resvg } from '@resvg/resvg-js';
import { FONT_FAMILY, installFontMetrics } from './fonts.js';
import type { ChartSpec } from './charts.js';

export interface RenderedChart extends ChartSpec {
  svg: string;
  width: number;
  height: number;
  /** Warnings of the Vega-Lite compiler and the Vega view (none expected). */
  warnings: string[];
}

/** A logger that collects instead of printing. */
function collectingLogger(into: string[]) {
  let level = 2; // warn
  const logger = {
    level(value?: number) {
      if (value === undefined) return level;
      level = value;
      return logger;
    },
    error(...args: unknown[]) {
      into.push(`error: ${args.map(String).join(' ')}`);
      return logger;
    },
    warn(...args: unknown[]) {
      if (level >= 2) into.push(`warning: ${args.map(String).join(' ')}`);
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  return logger;
}

/** Prefixes every id (and its references) so several inline SVGs never share a clip path id. */
export function scopeSvgIds(svg: string, prefix: string): string {
  return svg.replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`).replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`).replace(/(xlink:href|href)="#([^"]+)"/g, `$1="#${prefix}-$2"`);
}

export async function renderSvg(chart: ChartSpec): Promise<RenderedChart> {
  installFontMetrics();
  const warnings: string[] = [];
  const logger = collectingLogger(warnings);
  const compiled = compile(chart.spec, { logger: logger as never }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger: logger as never });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  svg = scopeSvgIds(svg, `chart-${chart.name}`);
  const match = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
  if (!match) throw new Error(`chart ${chart.name}: the SVG has no width and height`);
  return { ...chart, svg, width: Number(match[1]), height: Number(match[2]), warnings };
}

export interface PngImage {
  png: Buffer;
  width: number;
  height: number;
}

/** Renders an SVG to PNG at `scale` (2 = print quality) with only DejaVu Sans available. */
export function svgToPng(svg: string, scale = 2): PngImage {
  const files = installFontMetrics();
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: false, fontFiles: [files.regular, ...(files.bold ? [files.bold] : [])], defaultFontFamily: FONT_FAMILY },
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
  });
  const image = resvg.render();
  return { png: image.asPng(), width: image.width, height: image.height };
}
