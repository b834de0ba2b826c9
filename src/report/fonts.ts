/**
 * The one font every chart uses (Debian's DejaVu Sans), found on disk, and its advance widths
 * read from the TrueType file so that Vega lays out labels, legends and titles with the real
 * text widths (without a canvas, Vega guesses 0.8 em per character). The same files are
 * handed to resvg for the PNGs, so what was laid out is what is drawn.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as vega from 'vega';

export const FONT_FAMILY = 'DejaVu Sans';

const FONT_DIRS = ['/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/dejavu', '/usr/share/fonts/TTF', '/usr/local/share/fonts'];

function findFont(file: string): string | undefined {
  const fromEnv = process.env.PFC_BENCH_FONT_DIR;
  for (const dir of fromEnv ? [fromEnv, ...FONT_DIRS] : FONT_DIRS) {
    const path = `${dir}/${file}`;
    if (existsSync(path)) return path;
  }
  return undefined;
}

export interface FontFiles {
  regular: string;
  bold?: string;
}

/** The DejaVu Sans files; a clear error naming the package when the regular face is missing. */
export function fontFiles(): FontFiles {
  const regular = findFont('DejaVuSans.ttf');
  if (!regular) {
    throw new Error(
      `charts need the DejaVu Sans font (DejaVuSans.ttf), searched ${FONT_DIRS.join(', ')}; install Debian's fonts-dejavu-core or set PFC_BENCH_FONT_DIR`,
    );
  }
  return { regular, bold: findFont('DejaVuSans-Bold.ttf') };
}

/** Advance widths of a TrueType font by code point, from its cmap (formats 4 and 12) and hmtx. */
export class FontMetrics {
  private readonly advance = new Map<number, number>();
  private readonly unitsPerEm: number;
  private readonly fallback: number;

  constructor(data: Buffer) {
    const tables = new Map<string, number>();
    const numTables = data.readUInt16BE(4);
    for (let i = 0; i < numTables; i++) {
      const rec = 12 + 16 * i;
      tables.set(data.toString('latin1', rec, rec + 4), data.readUInt32BE(rec + 8));
    }
    const need = (tag: string): number => {
      const off = tables.get(tag);
      if (off === undefined) throw new Error(`font has no '${tag}' table`);
      return off;
    };
    this.unitsPerEm = data.readUInt16BE(need('head') + 18);
    const numberOfHMetrics = data.readUInt16BE(need('hhea') + 34);
    const hmtx = need('hmtx');
    const glyphAdvance = (glyph: number): number => data.readUInt16BE(hmtx + 4 * Math.min(glyph, numberOfHMetrics - 1));
    this.fallback = glyphAdvance(0);

    const cmap = need('cmap');
    const count = data.readUInt16BE(cmap + 2);
    let format4 = -1;
    let format12 = -1;
    for (let i = 0; i < count; i++) {
      const platform = data.readUInt16BE(cmap + 4 + 8 * i);
      const encoding = data.readUInt16BE(cmap + 6 + 8 * i);
      const sub = cmap + data.readUInt32BE(cmap + 8 + 8 * i);
      const format = data.readUInt16BE(sub);
      const unicode = platform === 0 || (platform === 3 && (encoding === 1 || encoding === 10));
      if (!unicode) continue;
      if (format === 4 && format4 < 0) format4 = sub;
      if (format === 12 && format12 < 0) format12 = sub;
    }
    if (format12 >= 0) {
      const groups = data.readUInt32BE(format12 + 12);
      for (let g = 0; g < groups; g++) {
        const rec = format12 + 16 + 12 * g;
        const start = data.readUInt32BE(rec);
        const end = Math.min(data.readUInt32BE(rec + 4), start + 0xffff);
        const glyph = data.readUInt32BE(rec + 8);
        for (let c = start; c <= end; c++) this.advance.set(c, glyphAdvance(glyph + c - start));
      }
    } else if (format4 >= 0) {
      const segX2 = data.readUInt16BE(format4 + 6);
      const ends = format4 + 14;
      const starts = ends + segX2 + 2;
      const deltas = starts + segX2;
      const ranges = deltas + segX2;
      for (let s = 0; s < segX2 / 2; s++) {
        const end = data.readUInt16BE(ends + 2 * s);
        const start = data.readUInt16BE(starts + 2 * s);
        const delta = data.readInt16BE(deltas + 2 * s);
        const rangeOffset = data.readUInt16BE(ranges + 2 * s);
        for (let c = start; c <= end && c !== 0xffff; c++) {
          let glyph: number;
          if (rangeOffset === 0) glyph = (c + delta) & 0xffff;
          else {
            const at = ranges + 2 * s + rangeOffset + 2 * (c - start);
            glyph = data.readUInt16BE(at);
            if (glyph !== 0) glyph = (glyph + delta) & 0xffff;
          }
          if (glyph !== 0) this.advance.set(c, glyphAdvance(glyph));
        }
      }
    } else {
      throw new Error('font has no Unicode cmap (format 4 or 12)');
    }
  }

  /** Width in pixels of `text` set at `size` pixels (no kerning). */
  width(text: string, size: number): number {
    let units = 0;
    for (const ch of text) units += this.advance.get(ch.codePointAt(0)!) ?? this.fallback;
    return (units / this.unitsPerEm) * size;
  }
}

let installed: { files: FontFiles; regular: FontMetrics; bold: FontMetrics } | undefined;

interface TextItem {
  fontSize?: number | string;
  fontWeight?: string | number;
  limit?: number;
}

/**
 * Loads DejaVu Sans and makes Vega measure text with it (Vega's textMetrics.width is the
 * documented hook for renderers without a canvas, as vl-convert uses it). Idempotent.
 */
export function installFontMetrics(): FontFiles {
  if (installed) return installed.files;
  const files = fontFiles();
  const regular = new FontMetrics(readFileSync(files.regular));
  const bold = files.bold ? new FontMetrics(readFileSync(files.bold)) : regular;
  installed = { files, regular, bold };
  // Not in vega's typings, but exported by vega-scenegraph through vega.
  const metrics = (vega as unknown as { textMetrics: { width: (item: TextItem, text: unknown) => number } }).textMetrics;
  metrics.width = (item: TextItem, text: unknown): number => {
    const line = text == null ? '' : String(text).trim();
    const size = item.fontSize != null ? +item.fontSize || 0 : 11;
    const weight = item.fontWeight;
    const isBold = weight === 'bold' || weight === 'bolder' || (typeof weight === 'number' && weight >= 600) || (typeof weight === 'string' && Number(weight) >= 600);
    const width = (isBold ? bold : regular).width(line, size);
    return item.limit && item.limit > 0 ? Math.min(width, item.limit) : width;
  };
  return files;
}
