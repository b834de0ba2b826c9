/**
 * Progress of a sweep: on a terminal, one live line (cell i of n, step, ETA); otherwise one
 * line per finished cell and nothing in between.
 */
import type { CellResult, CellSpec } from './results.js';
import { methodLabel } from './method.js';
import { caseName } from './case-name.js';

export function describeCell(spec: CellSpec): string {
  return `${caseName(spec)} ${methodLabel(spec)} batch ${spec.batch}`;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

export class Progress {
  private total = 0;
  private index = 0;
  private finished = 0;
  private finishedSeconds = 0;
  private cellStarted = 0;
  private label = '';

  /** How a cell is named in the lines (a capacity search names its budget, not its classes). */
  describe: (spec: CellSpec) => string = describeCell;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false,
  ) {}

  private get live(): boolean {
    return !this.quiet && this.stream.isTTY === true;
  }

  begin(total: number): void {
    this.total = total;
  }

  cellStart(index: number, spec: CellSpec): void {
    this.index = index;
    this.cellStarted = Date.now();
    this.label = this.describe(spec);
    this.render('starting');
  }

  step(phase: string, done: number, total: number): void {
    this.render(`${phase} ${done}/${total}`);
  }

  private eta(): string {
    const remaining = this.total - this.index;
    const perCell = this.finished ? this.finishedSeconds / this.finished : NaN;
    return formatSeconds(perCell * remaining);
  }

  private render(detail: string): void {
    if (!this.live) return;
    const line = `[cell ${this.index + 1}/${this.total}] ${this.label}: ${detail}, ETA ${this.eta()}`;
    this.stream.write(`\r\x1b[K${line.slice(0, (this.stream.columns ?? 120) - 1)}`);
  }

  cellDone(index: number, spec: CellSpec, result: CellResult, reused: boolean): void {
    if (!reused) {
      this.finished += 1;
      this.finishedSeconds += (Date.now() - this.cellStarted) / 1000;
    }
    if (this.quiet) return;
    const what = result.status === 'completed' && result.timing
      ? `${result.timing.stepMs.median.toFixed(1)} ms/step, ${Math.round(result.timing.imagesPerSecond)} img/s${
          spec.mode === 'predict' ? ` (predicted on ${result.prediction?.target ?? spec.target})` : ''
        }${
          result.reference && result.reference.stepOverGemm < 1 ? `; warning: x GEMMs ${result.reference.stepOverGemm.toFixed(2)}, faster than its own GEMM floor (see the table's note)` : ''
        }`
      : result.status === 'completed' && result.capacity
        ? `at most ${result.capacity.largestClasses.toLocaleString('en-US')} classes${result.capacity.checkedBy === 'model only' ? ` (model only: ${result.capacity.modelOnly})` : ''}`
        : `${result.status}${result.error ? `: ${result.error.split('\n')[0]}` : ''}`;
    const line = `[cell ${index + 1}/${this.total}] ${this.describe(spec)}: ${reused ? 'kept from the previous run, ' : ''}${what}`;
    this.stream.write(this.live ? `\r\x1b[K${line}\n` : `${line}\n`);
  }

  end(): void {
    if (this.live) this.stream.write('\r\x1b[K');
  }
}
