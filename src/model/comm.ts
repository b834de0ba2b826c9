/**
 * Communication model: latency-bandwidth (alpha-beta) time of ring collectives, per named
 * interconnect profile. With bus bandwidth bw and N ranks (nccl-tests' PERFORMANCE.md):
 *   all-gather / reduce-scatter of n bytes (the full buffer): (N-1) alpha + (N-1)/N n / bw
 *   all-reduce:                                            2(N-1) alpha + 2(N-1)/N n / bw
 *   broadcast:                                              (N-1) alpha + n / bw
 * A ring that leaves the node is limited by the node's network bandwidth. A calibrated profile
 * (`pfc-bench calibrate`, model/profile-file.ts) carries its own alpha and bus bandwidth per
 * collective, fitted from measurements; they replace the profile-wide ones for that collective.
 */
import { UsageError, suggest } from '../core/errors.js';
import type { CollectiveKind, CollectiveRecord } from '../comm/communicator.js';
import { isProfilePath, loadProfileFile } from './profile-file.js';

export interface InterconnectProfile {
  name: string;
  description: string;
  /** Per-hop latency, seconds. */
  alpha: number;
  /** Bus bandwidth inside a node, bytes/s. */
  intraNodeBandwidth: number;
  /** Network bandwidth per node (all its NICs), bytes/s. */
  interNodeBandwidth: number;
  gpusPerNode: number;
  /** Fitted per collective (a calibrated profile): per-hop alpha (s) and bus bandwidth (bytes/s). */
  collectives?: Partial<Record<CollectiveKind, CollectiveFit>>;
  /** The file a profile was read from (absolute path), with its SHA-256. */
  file?: { path: string; sha256: string };
}

export interface CollectiveFit {
  alpha: number;
  busBandwidth: number;
}

const GB = 1e9;

export const INTERCONNECTS: Record<string, InterconnectProfile> = {
  'pcie-gen3': {
    name: 'pcie-gen3',
    description: 'PCIe gen3 x16 inside the node (RTX 2080 Ti servers, as in the seed), 100 Gb/s EDR between nodes',
    alpha: 10e-6,
    intraNodeBandwidth: 10 * GB,
    interNodeBandwidth: 10 * GB,
    gpusPerNode: 8,
  },
  'nvlink-v100': {
    name: 'nvlink-v100',
    description: 'NVLink 2 (DGX-1 V100), 4 x 100 Gb/s EDR between nodes',
    alpha: 8e-6,
    intraNodeBandwidth: 130 * GB,
    interNodeBandwidth: 40 * GB,
    gpusPerNode: 8,
  },
  'nvlink-a100': {
    name: 'nvlink-a100',
    description: 'NVLink 3 / NVSwitch (DGX A100), 8 x 200 Gb/s HDR between nodes',
    alpha: 6e-6,
    intraNodeBandwidth: 230 * GB,
    interNodeBandwidth: 180 * GB,
    gpusPerNode: 8,
  },
  'nvlink-h100': {
    name: 'nvlink-h100',
    description: 'NVLink 4 / NVSwitch (DGX H100), 8 x 400 Gb/s NDR between nodes',
    alpha: 5e-6,
    intraNodeBandwidth: 370 * GB,
    interNodeBandwidth: 360 * GB,
    gpusPerNode: 8,
  },
  'ib-hdr': {
    name: 'ib-hdr',
    description: 'PCIe gen4 inside the node, one 200 Gb/s HDR NIC per node',
    alpha: 8e-6,
    intraNodeBandwidth: 20 * GB,
    interNodeBandwidth: 22 * GB,
    gpusPerNode: 8,
  },
  'ib-ndr': {
    name: 'ib-ndr',
    description: 'PCIe gen5 inside the node, one 400 Gb/s NDR NIC per node',
    alpha: 6e-6,
    intraNodeBandwidth: 40 * GB,
    interNodeBandwidth: 45 * GB,
    gpusPerNode: 8,
  },
};

/** A built-in profile by name, or a profile file (a path: has a slash or ends in .json). */
export function interconnect(name: string, gpusPerNode?: number): InterconnectProfile {
  const profile = INTERCONNECTS[name] ?? (isProfilePath(name) ? loadProfileFile(name) : undefined);
  if (!profile) {
    const names = Object.keys(INTERCONNECTS);
    throw new UsageError('--interconnect', `unknown profile '${name}'; expected one of ${names.join(', ')} or a profile file from 'pfc-bench calibrate'${suggest(name, names)}`);
  }
  return gpusPerNode ? { ...profile, gpusPerNode } : profile;
}

export function busBandwidth(profile: InterconnectProfile, ranks: number): number {
  return ranks > profile.gpusPerNode ? Math.min(profile.intraNodeBandwidth, profile.interNodeBandwidth) : profile.intraNodeBandwidth;
}

/** Modeled seconds of one collective. */
export function collectiveSeconds(record: CollectiveRecord, profile: InterconnectProfile): number {
  const N = record.ranks;
  if (N <= 1) return 0;
  const fit = profile.collectives?.[record.kind];
  const bw = fit ? fit.busBandwidth : busBandwidth(profile, N);
  const alpha = fit ? fit.alpha : profile.alpha;
  return ringHops(record.kind, N) * alpha + busFactor(record.kind, N) * (record.bytes / bw);
}

/** Latency terms of the ring: N-1 steps, twice for an all-reduce (reduce-scatter + all-gather). */
export function ringHops(kind: CollectiveKind, ranks: number): number {
  return kind === 'allReduce' ? 2 * (ranks - 1) : ranks - 1;
}

/** nccl-tests' bus-bandwidth factor (doc/PERFORMANCE.md): busbw = algbw x factor. */
export function busFactor(kind: CollectiveKind, ranks: number): number {
  switch (kind) {
    case 'allReduce':
      return (2 * (ranks - 1)) / ranks;
    case 'allGather':
    case 'reduceScatter':
      return (ranks - 1) / ranks;
    case 'broadcast':
      return 1;
  }
}

export function modeledMilliseconds(records: readonly CollectiveRecord[], profile: InterconnectProfile): number {
  return records.reduce((ms, r) => ms + collectiveSeconds(r, profile) * 1000, 0);
}
