/**
 * `pfc-bench fidelity REAL.json EMULATED.json`: how well the communication model predicts a
 * real run. For each cell of a real run (mpirun, collectives timed alone) it takes the same
 * configuration emulated (rank 0, the rank whose figures a real run reports) with a profile
 * (typically the one `pfc-bench calibrate` measured on the same ranks), and compares, per
 * collective of the step, the modeled time (from the profile recorded in the emulated results)
 * with the measured one: ratio = modeled / measured. The byte counts of both must be equal:
 * the model is fed exactly what the real ranks send. Writes the comparison as JSON.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../core/errors.js';
import { parseOptions, type OptionSpec } from '../options.js';
import { readResultsFile, type CellResult, type CellSpec, type ResultsFile } from '../bench/results.js';
import { collectiveSeconds, interconnect } from '../model/comm.js';
import type { CollectiveKind } from '../comm/communicator.js';

export const FIDELITY_SCHEMA = 'pfc-bench/fidelity';

export const FIDELITY_OPTIONS: Record<string, OptionSpec> = {
  out: { kind: 'string', help: 'fidelity JSON path [<REAL without .json>-fidelity.json]' },
  help: { kind: 'boolean', help: 'this help' },
};

export const FIDELITY_USAGE = `pfc-bench fidelity REAL.json EMULATED.json [--out FIDELITY.json]
  REAL.json: a run --mode real (mpirun); EMULATED.json: the same cells in --mode emulate --rank 0, usually with
  --interconnect PROFILE.json from pfc-bench calibrate. Prints and writes modeled / measured communication per
  collective of the step. exit status: 0 ok, 1 byte counts differ (the model is not fed what the ranks send), 2 bad input`;

export interface CollectiveFidelity {
  kind: CollectiveKind;
  label: string;
  measuredBytes: number;
  modeledBytes: number;
  bytesEqual: boolean;
  measuredMs: number;
  modeledMs: number;
  /** modeled / measured. */
  ratio: number;
}

export interface CellFidelity {
  real: string;
  emulated: string;
  strategy: string;
  ranks: number;
  profile: string;
  profileFile?: { path: string; sha256: string };
  collectives: CollectiveFidelity[];
  total: { measuredMs: number; modeledMs: number; ratio: number };
}

export interface FidelityFile {
  schema: typeof FIDELITY_SCHEMA;
  schemaVersion: 1;
  createdAt: string;
  realResults: string;
  emulatedResults: string;
  cells: CellFidelity[];
  /** Real cells without a completed emulated twin (or without measured communication). */
  unmatched: string[];
}

/** What makes two cells the same configuration, whatever their mode and rank. */
function configKey(s: CellSpec): string {
  const m = s.margin;
  return [s.strategy, s.classes, s.ranks, s.batch, s.dim, s.sampleRate, s.update, s.dtype, `${m.s}/${m.m1}/${m.m2}/${m.m3}`, s.logits ?? 'materialized', s.tile ?? 0].join('|');
}

function read(path: string, option: string): ResultsFile {
  try {
    return readResultsFile(path);
  } catch (error) {
    throw new UsageError(option, (error as Error).message);
  }
}

export function compareCells(real: CellResult, emulated: CellResult): CellFidelity {
  const rc = real.communication!;
  const ec = emulated.communication!;
  // The profile the emulated run recorded (its content); older files name it only.
  const profile = ec.interconnect ?? interconnect(emulated.spec.interconnect, emulated.spec.gpusPerNode || undefined);
  const collectives = rc.collectives.map((r, i): CollectiveFidelity => {
    const e = ec.collectives[i];
    const measuredMs = rc.measuredMsEach![i];
    const modeledMs = e ? collectiveSeconds(e, profile) * 1000 : NaN;
    return {
      kind: r.kind,
      label: r.label,
      measuredBytes: r.bytes,
      modeledBytes: e?.bytes ?? NaN,
      bytesEqual: e !== undefined && e.kind === r.kind && e.label === r.label && e.bytes === r.bytes,
      measuredMs,
      modeledMs,
      ratio: modeledMs / measuredMs,
    };
  });
  const modeledMs = collectives.reduce((s, c) => s + c.modeledMs, 0);
  return {
    real: real.id,
    emulated: emulated.id,
    strategy: real.spec.strategy,
    ranks: real.spec.ranks,
    profile: profile.name,
    ...(profile.file ? { profileFile: profile.file } : {}),
    collectives,
    total: { measuredMs: rc.measuredMs!, modeledMs, ratio: modeledMs / rc.measuredMs! },
  };
}

export function fidelity(realPath: string, emulatedPath: string): FidelityFile {
  const real = read(realPath, 'REAL.json');
  const emulated = read(emulatedPath, 'EMULATED.json');
  const realCells = real.cells.filter((c) => c.spec.mode === 'real' && c.status === 'completed');
  if (!realCells.length) throw new UsageError('REAL.json', `${realPath} has no completed cell of a run --mode real`);
  const twins = new Map<string, CellResult>();
  for (const c of emulated.cells) {
    if (c.spec.mode === 'emulate' && c.spec.rank === 0 && c.status === 'completed') twins.set(configKey(c.spec), c);
  }
  const cells: CellFidelity[] = [];
  const unmatched: string[] = [];
  for (const cell of realCells) {
    const twin = twins.get(configKey(cell.spec));
    if (!twin || !cell.communication?.measuredMsEach || !twin.communication) unmatched.push(cell.id);
    else cells.push(compareCells(cell, twin));
  }
  if (!cells.length) throw new UsageError('EMULATED.json', `${emulatedPath} has no completed emulated rank-0 cell with the configuration of a measured real cell of ${realPath}`);
  return { schema: FIDELITY_SCHEMA, schemaVersion: 1, createdAt: new Date().toISOString(), realResults: realPath, emulatedResults: emulatedPath, cells, unmatched };
}

export function fidelityTable(f: FidelityFile): string {
  const rows = [['Strategy', 'Collective', 'Label', 'Bytes', 'Measured ms', 'Modeled ms', 'Modeled/measured']];
  for (const c of f.cells) {
    for (const x of c.collectives) {
      rows.push([c.strategy, x.kind, x.label, x.bytesEqual ? String(x.measuredBytes) : `${x.measuredBytes} != ${x.modeledBytes}`, x.measuredMs.toFixed(4), x.modeledMs.toFixed(4), x.ratio.toFixed(2)]);
    }
    rows.push([c.strategy, 'step total', '', '', c.total.measuredMs.toFixed(4), c.total.modeledMs.toFixed(4), c.total.ratio.toFixed(2)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const text = rows.map((r) => r.map((v, i) => (i < 3 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ')).join('\n');
  const profiles = [...new Set(f.cells.map((c) => c.profileFile?.path ?? c.profile))];
  return `${text}\nprofile: ${profiles.join(', ')}; measured: each collective alone after a barrier (rank 0, median over steps)${f.unmatched.length ? `\nno emulated twin: ${f.unmatched.join(', ')}` : ''}`;
}

export async function fidelityCommand(argv: string[]): Promise<number> {
  const { options, positionals } = parseOptions(argv, FIDELITY_OPTIONS, 'fidelity', "see 'pfc-bench fidelity --help'");
  if (options.help === true) {
    process.stdout.write(`usage: ${FIDELITY_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError('fidelity', `expected two results files, REAL.json and EMULATED.json, got ${positionals.length}`);
  const [realPath, emulatedPath] = positionals;
  const result = fidelity(realPath, emulatedPath);
  const out = String(options.out ?? `${realPath.replace(/\.json$/i, '')}-fidelity.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
  process.stdout.write(`${fidelityTable(result)}\nfidelity: ${out}\n`);
  const mismatched = result.cells.flatMap((c) => c.collectives.filter((x) => !x.bytesEqual).map((x) => `${c.strategy} ${x.label}`));
  if (mismatched.length) {
    process.stderr.write(`pfc-bench fidelity: byte counts differ between the real and the emulated run: ${mismatched.join(', ')}\n`);
    return 1;
  }
  return 0;
}
