/**
 * The short table scripts/gpu-check.sh prints last: one line per cell of the GPU benchmark
 * results (step time, its ratio to the GEMM floor, the phase breakdown, the tagged peak beside
 * the memory model and the device's own used memory).
 *   node dist/scripts/gpu-summary.js RESULTS.json [...]
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ResultsFile } from '../src/bench/results.js';
import { methodLabel } from '../src/bench/method.js';

const mb = (bytes: number | null | undefined) => (bytes === null || bytes === undefined ? '-' : (bytes / 1e6).toFixed(0));

function summarize(path: string): string[] {
  const results = JSON.parse(readFileSync(path, 'utf8')) as ResultsFile;
  return results.cells.map((c) => {
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
  });
}

for (const path of process.argv.slice(2)) {
  if (!existsSync(path)) continue;
  process.stdout.write(`${path}\n`);
  for (const line of summarize(path)) process.stdout.write(`  ${line}\n`);
}
