/**
 * `pfc-bench calibrate`: measures the interconnect the job runs on and writes a profile that
 * `--interconnect FILE` feeds to the communication model. It runs under the user's launcher
 * (mpirun -np N / srun): CPU ranks over MPI, GPU ranks over NCCL (the same communicators the
 * strategies use). Rank 0 prints the nccl-tests-style table and writes the file; a rank that
 * fails (out of memory at some size, an MPI error) prints "pfc-bench: rank R: ..." and ends the
 * job, as `run` does.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { core, packageRoot } from '../core/binding.js';
import { UsageError } from '../core/errors.js';
import { selectBackend, BACKEND_CHOICES } from '../core/backend.js';
import '../core/index.js';
import { optionHelp, parseOptions, type OptionSpec } from '../options.js';
import { parseBytes, parseChoice, parseInteger } from '../bench/fields.js';
import { finalizeMpi, launcherRank, mpiUnavailableReason, mpiWorld } from '../comm/mpi.js';
import { openCommunicator } from '../comm/registry.js';
import { failRank, gatherTexts, ranksDiffering } from '../bench/real.js';
import { runContext } from '../bench/context.js';
import { median } from '../bench/stats.js';
import { checkOutputPath } from '../bench/sweep.js';
import { COLLECTIVE_KINDS, PROFILE_SCHEMA, PROFILE_SCHEMA_VERSION, type CalibrationRow, type ProfileFile } from '../model/profile-file.js';
import { CALIBRATED_COLLECTIVES } from './collectives.js';
import { calibrationSizes, measureSize, type CalibrationSettings } from './measure.js';
import { fitCollective, type FittedCollective } from './fit.js';
import { calibrationTable } from './table.js';

export const CALIBRATE_OPTIONS: Record<string, OptionSpec> = {
  'max-bytes': { kind: 'string', parse: (v, o) => parseBytes(o, v), help: 'largest message, e.g. 256MiB [256MiB]' },
  'min-bytes': { kind: 'string', parse: (v, o) => parseBytes(o, v), help: 'smallest message [8]' },
  iters: { kind: 'string', parse: (v, o) => parseInteger(1)(v, o), help: 'timed iterations per size [20]' },
  'warmup-iters': { kind: 'string', parse: (v, o) => parseInteger(0)(v, o), help: 'warm-up iterations per size [5]' },
  backend: { kind: 'string', parse: (v, o) => parseChoice(() => BACKEND_CHOICES)(v, o), help: 'cpu (MPI) | cuda (NCCL) | auto [auto]' },
  'gpu-memory': { kind: 'string', parse: (v, o) => parseBytes(o, v), help: "this rank's memory budget for the buffers (0: none; may differ across ranks)" },
  name: { kind: 'string', help: 'the profile name [calibrated-<host>-<N>ranks]' },
  out: { kind: 'string', help: 'profile JSON path [reports/interconnect-<time>.json]' },
  quiet: { kind: 'boolean', help: 'no progress output' },
  'no-report': { kind: 'boolean', help: 'no busbw chart next to the profile' },
  help: { kind: 'boolean', help: 'this help' },
};

/** What calibrate does, and its exit status: its --help, and docs/options.md, around the option table. */
export const CALIBRATE_ABOUT = `pfc-bench calibrate [options], under mpirun -np N or srun (N >= 2)
measures all-gather, reduce-scatter, all-reduce and broadcast from --min-bytes to --max-bytes (nccl-tests' method:
warm-up, timed iterations, algbw and busbw, every result checked), fits alpha and the bus bandwidth per collective and
writes an interconnect profile: then run --interconnect PROFILE.json`;
export const CALIBRATE_EXIT_STATUS = 'exit status: 0 ok (also: one rank, nothing to measure), 1 a wrong result or a failed rank, 2 bad input';

export const CALIBRATE_USAGE = `${CALIBRATE_ABOUT}
${optionHelp(CALIBRATE_OPTIONS)}
${CALIBRATE_EXIT_STATUS}`;

/** Options every rank must share (per-rank resources excepted), hashed for the agreement. */
const PER_RANK_OPTIONS = ['gpu-memory'];

function nothingToMeasure(): number {
  process.stdout.write('pfc-bench calibrate: one rank, nothing to measure: start it with N >= 2 ranks (mpirun -np N ... or srun -n N ...)\n');
  return 0;
}

/** Compares the options with rank 0's; a rank whose differ names itself and ends the job. */
function agreeOnOptions(options: Record<string, unknown>, rank: number, size: number): void {
  const shared = Object.fromEntries(Object.entries(options).filter(([k]) => !PER_RANK_OPTIONS.includes(k)).sort(([a], [b]) => (a < b ? -1 : 1)));
  const first = ranksDiffering(JSON.stringify(shared), size)[0];
  if (first === undefined) return;
  if (rank === first) failRank(rank, new UsageError('calibrate', `options differ from rank 0's (${JSON.stringify(shared)}); every rank must be given the same options (only --gpu-memory may differ)`));
  core().mpiBarrier(); // the differing rank ends the job
}

function hostsOf(names: string[]): { hosts: string[]; ranksPerNode: number } {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return { hosts: [...counts.keys()], ranksPerNode: Math.max(...counts.values()) };
}

function buildProfile(name: string, rows: CalibrationRow[], fits: Record<string, FittedCollective>, ranks: number, context: ProfileFile['context']): ProfileFile {
  const alpha = median(Object.values(fits).map((f) => f.alpha));
  const bandwidth = median(Object.values(fits).map((f) => f.busBandwidth));
  const where = `${context!.hosts.length} host(s), ${context!.ranksPerNode} rank(s) per node, ${context!.backend}`;
  return {
    schema: PROFILE_SCHEMA,
    schemaVersion: PROFILE_SCHEMA_VERSION,
    name,
    description: `measured by pfc-bench calibrate on ${ranks} ranks (${where}); the fitted alpha and bus bandwidth per collective are used at any rank count`,
    // The profile-wide figures (medians over the collectives) serve collectives it has no fit for.
    alpha,
    intraNodeBandwidth: bandwidth,
    interNodeBandwidth: bandwidth,
    gpusPerNode: context!.ranksPerNode,
    collectives: Object.fromEntries(Object.entries(fits).map(([k, f]) => [k, { alpha: f.alpha, busBandwidth: f.busBandwidth, relativeError: f.relativeError }])),
    measurements: rows,
    context,
  };
}

export async function calibrateCommand(argv: string[]): Promise<number> {
  const { options, positionals } = parseOptions(argv, CALIBRATE_OPTIONS, 'calibrate', "see 'pfc-bench calibrate --help'");
  if (options.help === true) {
    process.stdout.write(`usage: ${CALIBRATE_USAGE}\n`);
    return 0;
  }
  if (positionals.length) throw new UsageError('calibrate', `unexpected argument '${positionals[0]}' (options start with --)`);
  const settings: CalibrationSettings = {
    minBytes: (options['min-bytes'] as number | undefined) ?? 8,
    maxBytes: (options['max-bytes'] as number | undefined) ?? 256 * 2 ** 20,
    iterations: (options.iters as number | undefined) ?? 20,
    warmupIterations: (options['warmup-iters'] as number | undefined) ?? 5,
  };
  if (settings.minBytes < 4) throw new UsageError('--min-bytes', `expected at least 4 bytes (one fp32 element), got ${settings.minBytes}`);
  if (settings.maxBytes < settings.minBytes) throw new UsageError('--max-bytes', `expected at least --min-bytes (${settings.minBytes}), got ${settings.maxBytes}`);
  const backendChoice = (options.backend as string | undefined) ?? 'auto';
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const outPath = String(options.out ?? join(packageRoot(), 'reports', `interconnect-${stamp}.json`));
  if (/[\\/]$/.test(outPath)) throw new UsageError('--out', `'${outPath}' is a folder; expected the path of a profile file (e.g. ${outPath}profile.json)`);
  const quiet = options.quiet === true;

  // Ranks come from the launcher; a process started without one is a single rank.
  if (launcherRank() === undefined) return nothingToMeasure();
  const reason = mpiUnavailableReason();
  if (reason !== null) throw new UsageError('calibrate', `needs MPI to start its ranks: ${reason}`);
  const world = mpiWorld();
  const { rank, size } = world;
  if (size === 1) {
    finalizeMpi();
    return nothingToMeasure();
  }
  // All-gather and reduce-scatter need one fp32 element per rank; below that nothing can be fitted.
  if (settings.maxBytes < 4 * size) throw new UsageError('--max-bytes', `expected at least ${4 * size} bytes on ${size} ranks (one fp32 element per rank), got ${settings.maxBytes}`);
  let rows: CalibrationRow[] = [];
  let names: string[] = [];
  let backendName = '';
  let libraries: Record<string, string> = {};
  let backendContext: Record<string, string | number | boolean> = {};
  try {
    agreeOnOptions(options, rank, size);
    if (rank === 0) checkOutputPath(outPath);
    const { backend } = selectBackend(backendChoice);
    backendName = backend.name;
    backendContext = backend.context();
    core().setMemoryBudget(backend.device, (options['gpu-memory'] as number | undefined) ?? 0);
    const comm = openCommunicator({ mode: 'real', ranks: size, rank }, backend);
    comm.synchronizedTiming = false; // iterations run back to back, timed as a loop
    names = gatherTexts(hostname(), size);
    const nccl = backend.name === 'cuda' ? core().ncclVersion?.() : undefined; // loads NCCL: GPU ranks only
    const blas = backendContext.blas;
    libraries = { mpi: world.version, mpiLibrary: world.library, node: process.version, ...(typeof blas === 'string' ? { blas } : {}), ...(nccl ? { nccl: String(nccl) } : {}) };
    const sizes = calibrationSizes(settings.minBytes, settings.maxBytes);
    if (!quiet && rank === 0) process.stderr.write(`pfc-bench calibrate: ${size} ranks, ${comm.kind}, ${sizes.length} sizes ${settings.minBytes}..${settings.maxBytes} B, ${settings.iterations} iterations (+${settings.warmupIterations} warm-up)\n`);
    for (const collective of CALIBRATED_COLLECTIVES) {
      let last = 0;
      for (const bytes of sizes) {
        const row = measureSize(collective, comm, backend, bytes, settings);
        if (!row || row.bytes <= last) continue; // too small to split over the ranks, or the same size once rounded
        last = row.bytes;
        rows.push(row);
      }
      if (!quiet && rank === 0) process.stderr.write(`  ${collective.kind}: done\n`);
    }
    comm.dispose();
  } catch (error) {
    failRank(rank, error);
  }
  let code = 0;
  if (rank === 0) {
    const { hosts, ranksPerNode } = hostsOf(names);
    const fits = Object.fromEntries(COLLECTIVE_KINDS.map((k) => [k, fitCollective(k, rows, size)]));
    const run = runContext(backendContext);
    const context = { createdAt: run.createdAt, tool: run.tool, ranks: size, hosts, ranksPerNode, backend: backendName, libraries, iterations: settings.iterations, warmupIterations: settings.warmupIterations };
    const name = (options.name as string | undefined) ?? `calibrated-${hosts[0]}-${size}ranks`;
    const profile = buildProfile(name, rows, fits, size, context);
    const out = outPath;
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(profile, null, 1)}\n`);
    process.stdout.write(`${calibrationTable(profile)}\nprofile: ${out}\n`);
    if (options['no-report'] !== true) {
      const { renderProfileChart } = await import('../report/charts/busbw.js');
      for (const chart of await renderProfileChart(out)) process.stdout.write(`chart: ${chart}\n`);
    }
    const wrong = rows.reduce((s, r) => s + r.wrong, 0);
    if (wrong > 0) {
      process.stderr.write(`pfc-bench calibrate: ${wrong} wrong result element(s) (see #wrong): the collectives do not compute what they should\n`);
      code = 1;
    }
  }
  rows = [];
  core().mpiBarrier();
  finalizeMpi();
  return code;
}
