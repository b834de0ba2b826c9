/** The nccl-tests-style table `pfc-bench calibrate` prints, from the profile it wrote. */
import type { ProfileFile } from '../model/profile-file.js';

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => c.padStart(widths[i])).join('  ');
}

export function calibrationTable(profile: ProfileFile): string {
  const widths = [14, 12, 11, 6, 6, 5, 11, 11, 11, 7];
  const redop = (kind: string) => (kind === 'allReduce' || kind === 'reduceScatter' ? 'sum' : 'none');
  const root = (kind: string) => (kind === 'broadcast' ? '0' : '-1');
  const lines: string[] = [];
  const ctx = profile.context;
  if (ctx) lines.push(`# ${ctx.ranks} ranks on ${ctx.hosts.length} host(s) (${ctx.hosts.join(', ')}), ${ctx.ranksPerNode} per node, ${ctx.backend}; ${Object.entries(ctx.libraries).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push('# time: mean per iteration, averaged over ranks; busbw = algbw x factor (nccl-tests PERFORMANCE.md); #wrong: result elements checked, over all ranks');
  lines.push(row(['collective', 'size(B)', 'count', 'type', 'redop', 'root', 'time(us)', 'algbw(GB/s)', 'busbw(GB/s)', '#wrong'], widths));
  for (const r of profile.measurements ?? []) {
    lines.push(row([r.collective, String(r.bytes), String(r.count), 'float', redop(r.collective), root(r.collective), r.timeUs.toFixed(1), r.algbw.toFixed(3), r.busbw.toFixed(3), String(r.wrong)], widths));
  }
  lines.push('# fitted (t = hops x alpha + factor x bytes / busbw):');
  for (const [kind, fit] of Object.entries(profile.collectives ?? {})) {
    const error = (fit as { relativeError?: number }).relativeError;
    lines.push(`#   ${kind.padEnd(13)} alpha ${(fit.alpha * 1e6).toFixed(2)} us per hop, busbw ${(fit.busBandwidth / 1e9).toFixed(3)} GB/s${error !== undefined ? `, fit error ${(error * 100).toFixed(0)}% rms` : ''}`);
  }
  const rows = profile.measurements ?? [];
  if (rows.length) lines.push(`# Avg bus bandwidth: ${(rows.reduce((s, r) => s + r.busbw, 0) / rows.length).toFixed(3)} GB/s`);
  return lines.join('\n');
}
