/**
 * `pfc-bench info`: the build, the CUDA device, and every run-time library (found or not, its
 * file and version, or why it is missing), as text or, with --json, as one JSON object.
 * Missing libraries are answers here, never errors: this is the command to run when
 * something does not load.
 */
import { existsSync } from 'node:fs';
import { core, corePath, simCorePath, type RuntimeLibrary } from './core/binding.js';
import { UsageError } from './core/errors.js';
import { parseOptions, type OptionSpec } from './options.js';
import { builtinScenarioNames } from './bench/scenario.js';
import { INTERCONNECTS } from './model/comm.js';
import { currentCpuSignature, toolVersion } from './bench/context.js';
import { formatCpuSignature, type CpuSignature } from './bench/signature.js';

export interface InfoReport {
  tool: { name: string; version: string };
  addon: string;
  build: ReturnType<ReturnType<typeof core>['buildInfo']>;
  threads: number;
  /** The CPU's signature, as every results file records it. */
  cpuSignature: CpuSignature;
  cuda: ReturnType<ReturnType<typeof core>['cudaProbe']>;
  /** The simulated device (--backend cuda-sim): its addon, or why it is unavailable. */
  simulatedDevice: { addon: string; available: boolean };
  libraries: RuntimeLibrary[];
  scenarios: string[];
  interconnects: string[];
}

export function infoReport(): InfoReport {
  const native = core();
  return {
    tool: { name: 'pfc-bench', version: toolVersion() },
    addon: corePath(),
    build: native.buildInfo(),
    threads: native.threads(),
    cpuSignature: currentCpuSignature(),
    cuda: native.cudaProbe(),
    simulatedDevice: { addon: simCorePath(), available: existsSync(simCorePath()) },
    libraries: native.libraries(),
    scenarios: builtinScenarioNames(),
    interconnects: Object.keys(INTERCONNECTS),
  };
}

export function formatInfo(r: InfoReport): string {
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const lines = [
    `${r.tool.name} ${r.tool.version} (addon ${r.addon})`,
    `build: CUDA backend ${yes(r.build.cuda)}, MPI plugin ${yes(r.build.mpi)}, compiler ${r.build.compiler}, CPU threads ${r.threads}`,
    `CPU signature: ${formatCpuSignature(r.cpuSignature)}`,
    `CPU kernels: ${r.build.simd} (this build and CPU run ${r.build.simdTargets.join(', ')}; PFC_SIMD_MAX caps the choice)`,
    `CUDA device: ${r.cuda.usable ? `${r.cuda.name}, ${(r.cuda.totalBytes / 2 ** 30).toFixed(1)} GiB` : `none (${r.cuda.reason})`}`,
    `simulated device: ${r.simulatedDevice.available ? `--backend cuda-sim runs the CUDA kernels on the CPU (${r.simulatedDevice.addon}); its times mean nothing for a GPU` : `missing (${r.simulatedDevice.addon}; npm run build:native)`}`,
    'run-time libraries:',
  ];
  const width = Math.max(...r.libraries.map((l) => l.name.length));
  for (const l of r.libraries) {
    const head = `  ${l.name.padEnd(width)}  ${l.found ? 'found  ' : 'MISSING'}`;
    if (l.found) lines.push(`${head}  ${l.version || 'version unknown'}${l.path ? `  ${l.path}` : ''}${l.note ? `  (${l.note})` : ''}`);
    else lines.push(`${head}  ${l.note}`);
  }
  lines.push(`scenarios: ${r.scenarios.join(', ')}`, `interconnect profiles: ${r.interconnects.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** info's one option (docs/options.md lists it with every other command's). */
export const INFO_OPTIONS: Record<string, OptionSpec> = {
  json: { kind: 'boolean', help: 'the same report as one JSON object' },
};

export function infoCommand(args: string[]): number {
  const { options, positionals } = parseOptions(args, INFO_OPTIONS, 'info', "the only option is --json");
  if (positionals.length) throw new UsageError('info', `unexpected argument '${positionals[0]}'; the only option is --json`);
  const json = options.json === true;
  const report = infoReport();
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatInfo(report));
  return 0;
}
