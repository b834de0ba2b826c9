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

/**
 * The built-in profiles, named by the topology they model: the link inside the node, the GPUs
 * per node, and the NICs per node ("nvswitch3-8gpu-8xhdr": NVLink 3 through NVSwitch within 8
 * GPUs, eight 200 Gb/s HDR NICs per node). A ring inside one node runs at the intra-node bus
 * bandwidth; one that leaves it, at the smaller of that and the node's NICs together.
 */
export const INTERCONNECTS: Record<string, InterconnectProfile> = {
  'pcie3-8gpu-1xedr': {
    name: 'pcie3-8gpu-1xedr',
    description: 'PCIe gen3 x16 within 8 GPUs (RTX 2080 Ti servers, as in the seed; 10 GB/s bus bandwidth), one 100 Gb/s EDR NIC per node (10 GB/s)',
    alpha: 10e-6,
    intraNodeBandwidth: 10 * GB,
    interNodeBandwidth: 10 * GB,
    gpusPerNode: 8,
  },
  'nvlink2-8gpu-4xedr': {
    name: 'nvlink2-8gpu-4xedr',
    description: 'NVLink 2 hybrid cube-mesh within 8 GPUs (DGX-1 V100; 130 GB/s bus bandwidth), four 100 Gb/s EDR NICs per node (40 GB/s)',
    alpha: 8e-6,
    intraNodeBandwidth: 130 * GB,
    interNodeBandwidth: 40 * GB,
    gpusPerNode: 8,
  },
  'nvswitch3-8gpu-8xhdr': {
    name: 'nvswitch3-8gpu-8xhdr',
    description: 'NVLink 3 through NVSwitch within 8 GPUs (DGX A100; 230 GB/s bus bandwidth), eight 200 Gb/s HDR NICs per node (180 GB/s)',
    alpha: 6e-6,
    intraNodeBandwidth: 230 * GB,
    interNodeBandwidth: 180 * GB,
    gpusPerNode: 8,
  },
  'nvswitch4-8gpu-8xndr': {
    name: 'nvswitch4-8gpu-8xndr',
    description: 'NVLink 4 through NVSwitch within 8 GPUs (DGX H100; 370 GB/s bus bandwidth), eight 400 Gb/s NDR NICs per node (360 GB/s)',
    alpha: 5e-6,
    intraNodeBandwidth: 370 * GB,
    interNodeBandwidth: 360 * GB,
    gpusPerNode: 8,
  },
  'pcie4-8gpu-1xhdr': {
    name: 'pcie4-8gpu-1xhdr',
    description: 'PCIe gen4 within 8 GPUs (no NVLink; 20 GB/s bus bandwidth), one 200 Gb/s HDR NIC per node (22 GB/s)',
    alpha: 8e-6,
    intraNodeBandwidth: 20 * GB,
    interNodeBandwidth: 22 * GB,
    gpusPerNode: 8,
  },
  'pcie5-8gpu-1xndr': {
    name: 'pcie5-8gpu-1xndr',
    description: 'PCIe gen5 within 8 GPUs (no NVLink; 40 GB/s bus bandwidth), one 400 Gb/s NDR NIC per node (45 GB/s)',
    alpha: 6e-6,
    intraNodeBandwidth: 40 * GB,
    interNodeBandwidth: 45 * GB,
    gpusPerNode: 8,
  },
};

/**
 * The names the profiles had before they were named by topology. They still read (scenario
 * files, old results files), each as the profile it always was; `ib-hdr` never meant NVLink:
 * it is PCIe inside the node and one NIC per node.
 */
export const INTERCONNECT_ALIASES: Record<string, string> = {
  'pcie-gen3': 'pcie3-8gpu-1xedr',
  'nvlink-v100': 'nvlink2-8gpu-4xedr',
  'nvlink-a100': 'nvswitch3-8gpu-8xhdr',
  'nvlink-h100': 'nvswitch4-8gpu-8xndr',
  'ib-hdr': 'pcie4-8gpu-1xhdr',
  'ib-ndr': 'pcie5-8gpu-1xndr',
};

/** A built-in profile's current name for an old one; any other name (a file, an unknown name) as given. */
export function canonicalInterconnect(name: string): string {
  return Object.hasOwn(INTERCONNECT_ALIASES, name) ? INTERCONNECT_ALIASES[name] : name;
}

/** The note an old name gets wherever it is read: what it is now, and what that models. */
export function aliasNote(name: string): string | undefined {
  if (!Object.hasOwn(INTERCONNECT_ALIASES, name)) return undefined;
  const profile = INTERCONNECTS[INTERCONNECT_ALIASES[name]];
  return `interconnect '${name}' is the old name of '${profile.name}': ${profile.description}`;
}

/** Every built-in profile with what it models, and the old names, for --help. */
export function interconnectHelp(): string {
  const lines = Object.values(INTERCONNECTS).map((p) => `  ${p.name.padEnd(22)} ${p.description}`);
  const aliases = Object.entries(INTERCONNECT_ALIASES).map(([old, now]) => `${old} = ${now}`);
  return `${lines.join('\n')}\n  old names, still read: ${aliases.join(', ')}`;
}

/** A built-in profile by name, or a profile file (a path: has a slash or ends in .json). */
export function interconnect(name: string, gpusPerNode?: number): InterconnectProfile {
  const profile = INTERCONNECTS[canonicalInterconnect(name)] ?? (isProfilePath(name) ? loadProfileFile(name) : undefined);
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
