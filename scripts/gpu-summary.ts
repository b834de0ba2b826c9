/**
 * The short table scripts/gpu-check.sh prints last: one line per cell of the GPU benchmark
 * results (step time, its ratio to the GEMM floor, the phase breakdown, the tagged peak beside
 * the memory model and the device's own used memory), and under each measured cell the step
 * predicted for that GPU (--mode predict's model, src/predict/step.ts) beside the measured one,
 * per phase: "predicted on h200: gemm 7.10 / 7.62 measured, ...".
 *   node dist/scripts/gpu-summary.js RESULTS.json [...]
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ResultsFile } from '../src/bench/results.js';
import { methodLabel } from '../src/bench/method.js';
import type { CellResult } from '../src/bench/results.js';
import { interconnect } from '../src/model/comm.js';
import { predictOurStep } from '../src/predict/step.js';
import { builtinTargetNames, loadTarget } from '../src/predict/targets.js';

/** The built-in target a device name matches ("NVIDIA H200" -> h200), if any. */
function targetFor(device: string | undefined): string | undefined {
  const d = (device ?? '').toLowerCase().replace(/[\s-]/g, '');
  const names = builtinTargetNames();
  if (d.includes('h200')) return 'h200';
  if (d.includes('h100')) return 'h100-sxm';
  if (d.includes('a100')) return d.includes('40gb') ? 'a100-40gb' : 'a100-80gb';
  if (d.includes('v100')) return 'v100-32gb';
  if (d.includes('2080ti')) return 'rtx-2080ti';
  if (d.includes('l40s')) return 'l40s';
  return names.find((n) => d.includes(n.replace(/-/g, '')));
}

/** Predicted beside measured, per phase, for a measured cell on a GPU a target describes. */
function predictedLine(c: CellResult): string | undefined {
  const name = c.backend === 'cuda' ? targetFor(c.device) : undefined;
  if (!name || !c.timing || c.spec.mode === 'predict') return undefined;
  const p = predictOurStep(c.spec, loadTarget(name), interconnect(c.spec.interconnect, c.spec.gpusPerNode || undefined), c.spec.rank);
  const measured = c.timing.phasesMs as unknown as Record<string, number>;
  const phases = Object.entries(p.phasesMs)
    .filter(([phase, ms]) => ms > 0 || (measured[phase] ?? 0) > 0)
    .map(([phase, ms]) => `${phase} ${ms.toFixed(2)} / ${(measured[phase] ?? 0).toFixed(2)}`)
    .join(', ');
  return `predicted on ${name} / measured, ms: step ${p.stepMs.toFixed(2)} / ${c.timing.stepMs.median.toFixed(2)} [${phases}]`;
}

const mb = (bytes: number | null | undefined) => (bytes === null || bytes === undefined ? '-' : (bytes / 1e6).toFixed(0));

function summarize(path: string): string[] {
  const results = JSON.parse(readFileSync(path, 'utf8')) as ResultsFile;
  return results.cells.flatMap((c) => {
    const line = summaryLine(c);
    const predicted = predictedLine(c);
    return predicted ? [line, `  ${predicted}`] : [line];
  });
}

function summaryLine(c: CellResult): string {
  {
    const s = c.spec;
    const name = `${s.label ?? ''} ${methodLabel(s, true)} ${s.dtype}`.trim();
    if (c.status !== 'completed' || !c.timing || !c.memory) return `${name.padEnd(44)} ${c.status}${c.error ? `: ${c.error.split('\n')[0]}` : ''}`;
    const t = c.timing;
    const phases = Object.entries(t.phasesMs).filter(([, ms]) => ms > 0).map(([p, ms]) => `${p} ${ms.toFixed(2)}`).join(', ');
    const model = Object.values(c.memory.modelBytes).reduce((a, b) => a + b, 0);
    return [
      name.padEnd(44),
      `${t.stepMs.median.toFixed(2)} ms`,
      c.reference ? `${c.reference.stepOverGemm.toFixed(2)}x floor` : '- floor',
      `peak ${mb(c.memory.peakBytes)} MB (model ${mb(model)}, device used ${mb(c.memory.deviceUsedBytes)})`,
      `[${phases}]`,
    ].join('  ');
  }
}

for (const path of process.argv.slice(2)) {
  if (!existsSync(path)) continue;
  process.stdout.write(`${path}\n`);
  for (const line of summarize(path)) process.stdout.write(`  ${line}\n`);
}
