/**
 * The Markdown summary: the seed's table layout (Method, GPUs, BatchSize, Memory/M,
 * Throughput img/sec) with our figures, the published ones and the ratios side by side.
 */
import type { CellResult, ResultsFile } from '../bench/results.js';

const MB = 1e6;

function method(cell: CellResult): string {
  const s = cell.spec;
  return s.strategy === 'partial-fc' ? `Partial FC ${s.sampleRate} (${s.update})` : s.strategy === 'model-parallel' ? 'Model Parallel' : 'Data Parallel';
}

function fmt(n: number | undefined, digits = 0): string {
  return n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}

/** Partial FC / model parallel ratios per setting label, measured and published. */
export function seedRatios(cells: readonly CellResult[]): { label: string; throughput: number; memory: number; publishedThroughput?: number; publishedMemory?: number }[] {
  const out = [];
  const labels = [...new Set(cells.map((c) => c.spec.label).filter(Boolean))];
  for (const label of labels) {
    const mp = cells.find((c) => c.spec.label === label && c.spec.strategy === 'model-parallel' && c.status === 'completed');
    const pfc = cells.find((c) => c.spec.label === label && c.spec.strategy === 'partial-fc' && c.status === 'completed');
    if (!mp?.timing || !pfc?.timing || !mp.memory || !pfc.memory) continue;
    const pubT = pfc.spec.published?.imagesPerSecond && mp.spec.published?.imagesPerSecond ? pfc.spec.published.imagesPerSecond / mp.spec.published.imagesPerSecond : undefined;
    const pubM = pfc.spec.published?.memoryMB && mp.spec.published?.memoryMB ? pfc.spec.published.memoryMB / mp.spec.published.memoryMB : undefined;
    out.push({
      label,
      throughput: pfc.timing.imagesPerSecond / mp.timing.imagesPerSecond,
      memory: pfc.memory.peakBytes / mp.memory.peakBytes,
      publishedThroughput: pubT,
      publishedMemory: pubM,
    });
  }
  return out;
}

export function markdownSummary(files: readonly ResultsFile[]): string {
  const lines: string[] = [];
  for (const file of files) {
    const ctx = file.context;
    lines.push(`# pfc-bench: ${file.scenario.name}`, '', file.scenario.description, '');
    lines.push(`Run ${ctx.createdAt} with pfc-bench ${ctx.tool.version} (${ctx.tool.gitRevision}) on ${ctx.backend.cudaDevice && !String(ctx.backend.cudaDevice).startsWith('none') ? ctx.backend.cudaDevice : ctx.cpu} (${ctx.cpuCount} CPUs), node ${ctx.node}.`, '');
    lines.push('| Setting | Method | GPUs | BatchSize | Memory/M (ours, FC) | Memory/M (published) | Throughput img/sec (ours, FC) | Throughput img/sec (published) | Status |');
    lines.push('|---|---|---|---|---|---|---|---|---|');
    for (const cell of file.cells) {
      const s = cell.spec;
      const modeled = cell.timing?.modeled ? ' (emulated, comm. modeled)' : '';
      lines.push(
        `| ${s.label || s.classes} | ${method(cell)} | ${s.ranks} | ${s.batch} | ${cell.memory ? fmt(cell.memory.peakBytes / MB) : '-'} | ${fmt(s.published?.memoryMB)} | ${cell.timing ? fmt(cell.timing.imagesPerSecond) + modeled : '-'} | ${fmt(s.published?.imagesPerSecond)} | ${cell.status}${cell.error ? `: ${cell.error.split('\n')[0]}` : ''} |`,
      );
    }
    const ratios = seedRatios(file.cells);
    if (ratios.length) {
      lines.push('', '## Partial FC / model parallel', '', '| Setting | Throughput (ours) | Throughput (published) | Memory (ours) | Memory (published) |', '|---|---|---|---|---|');
      for (const r of ratios) {
        lines.push(`| ${r.label} | ${fmt(r.throughput, 2)}x | ${r.publishedThroughput ? fmt(r.publishedThroughput, 2) + 'x' : '-'} | ${fmt(r.memory, 2)}x | ${r.publishedMemory ? fmt(r.publishedMemory, 2) + 'x' : '-'} |`);
      }
    }
    lines.push(
      '',
      'Our memory is the FC layer of one rank as the core allocates it (peak of the tagged total); the published memory is the whole GPU (backbone, activations, CUDA context) as nvidia-smi shows it. Our throughput is the FC layer alone: global batch / (measured compute + modeled communication) in emulate mode. Compare ratios, not absolute figures.',
      '',
    );
  }
  return lines.join('\n');
}
