/**
 * Interconnect profile files: what `pfc-bench calibrate` writes and `--interconnect FILE` reads.
 * A file holds the model's inputs (alpha, bandwidths, ranks per node and, when calibrated, the
 * alpha and bus bandwidth fitted per collective), the raw measurements they were fitted from,
 * and the context they were measured in. Every field is checked on reading, and a bad one is
 * named ("field 'collectives.allReduce.busBandwidth': expected a number > 0, got -3").
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { CollectiveKind } from '../comm/communicator.js';
import type { InterconnectProfile } from './comm.js';

export const PROFILE_SCHEMA = 'pfc-bench/interconnect';
export const PROFILE_SCHEMA_VERSION = 1;
export const COLLECTIVE_KINDS: readonly CollectiveKind[] = ['allGather', 'reduceScatter', 'allReduce', 'broadcast'];

/** One row of the nccl-tests-style table: a collective at one size. */
export interface CalibrationRow {
  collective: CollectiveKind;
  /** nccl-tests' size: the gathered buffer (all-gather), the full input (reduce-scatter), the buffer (others). */
  bytes: number;
  /** fp32 elements of that buffer. */
  count: number;
  /** Mean time per iteration, averaged over ranks (nccl-tests' default), microseconds. */
  timeUs: number;
  /** bytes / time, GB/s (1e9). */
  algbw: number;
  /** algbw x nccl-tests' factor, GB/s. */
  busbw: number;
  /** Elements of the result buffers, over all ranks, that differ from the expected values. */
  wrong: number;
}

export interface ProfileContext {
  createdAt: string;
  tool: { name: string; version: string; gitRevision: string };
  ranks: number;
  hosts: string[];
  ranksPerNode: number;
  backend: string;
  /** Library versions: MPI (always: it launches the ranks), NCCL on GPU ranks. */
  libraries: Record<string, string>;
  iterations: number;
  warmupIterations: number;
}

export interface ProfileFile extends Omit<InterconnectProfile, 'file'> {
  schema: typeof PROFILE_SCHEMA;
  schemaVersion: number;
  collectives?: Partial<Record<CollectiveKind, { alpha: number; busBandwidth: number }>>;
  measurements?: CalibrationRow[];
  context?: ProfileContext;
}

/** --interconnect takes a profile name or a path; a path has a slash or ends in .json. */
export function isProfilePath(value: string): boolean {
  return value.includes('/') || value.includes('\\') || value.toLowerCase().endsWith('.json');
}

function fail(path: string, field: string, message: string): never {
  throw new UsageError('--interconnect', `${path}: field '${field}': ${message}`);
}

function show(value: unknown): string {
  return value === undefined ? 'nothing (missing)' : JSON.stringify(value);
}

function number(data: Record<string, unknown>, key: string, path: string, field: string, positive: boolean): number {
  const v = data[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (positive && v === 0)) {
    fail(path, field, `expected a number ${positive ? '> 0' : '>= 0'}, got ${show(v)}`);
  }
  return v;
}

function object(value: unknown, path: string, field: string): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) fail(path, field, `expected an object, got ${show(value)}`);
  return value as Record<string, unknown>;
}

/** Checks a parsed profile file; returns the profile the model uses. */
export function validateProfile(raw: unknown, path: string): ProfileFile {
  const data = object(raw, path, '(top level)');
  if (data.schema !== PROFILE_SCHEMA) fail(path, 'schema', `expected "${PROFILE_SCHEMA}" (a file written by 'pfc-bench calibrate'), got ${show(data.schema)}`);
  if (data.schemaVersion !== PROFILE_SCHEMA_VERSION) fail(path, 'schemaVersion', `expected ${PROFILE_SCHEMA_VERSION}, got ${show(data.schemaVersion)}`);
  if (typeof data.name !== 'string' || data.name.trim() === '') fail(path, 'name', `expected a non-empty string, got ${show(data.name)}`);
  if (data.description !== undefined && typeof data.description !== 'string') fail(path, 'description', `expected a string, got ${show(data.description)}`);
  number(data, 'alpha', path, 'alpha', false);
  number(data, 'intraNodeBandwidth', path, 'intraNodeBandwidth', true);
  number(data, 'interNodeBandwidth', path, 'interNodeBandwidth', true);
  const perNode = data.gpusPerNode;
  if (typeof perNode !== 'number' || !Number.isInteger(perNode) || perNode < 1) fail(path, 'gpusPerNode', `expected an integer >= 1, got ${show(perNode)}`);
  if (data.collectives !== undefined) {
    const fits = object(data.collectives, path, 'collectives');
    for (const [kind, fit] of Object.entries(fits)) {
      if (!(COLLECTIVE_KINDS as readonly string[]).includes(kind)) fail(path, `collectives.${kind}`, `unknown collective; expected ${COLLECTIVE_KINDS.join(', ')}`);
      const f = object(fit, path, `collectives.${kind}`);
      number(f, 'alpha', path, `collectives.${kind}.alpha`, false);
      number(f, 'busBandwidth', path, `collectives.${kind}.busBandwidth`, true);
    }
  }
  if (data.measurements !== undefined) checkMeasurements(data.measurements, path);
  return data as unknown as ProfileFile;
}

/** The raw table: known collectives, numbers >= 0, and each collective's sizes in increasing order. */
function checkMeasurements(rows: unknown, path: string): void {
  if (!Array.isArray(rows)) fail(path, 'measurements', `expected an array of rows, got ${show(rows)}`);
  const last = new Map<string, number>();
  rows.forEach((row, i) => {
    const r = object(row, path, `measurements[${i}]`);
    if (!(COLLECTIVE_KINDS as readonly string[]).includes(r.collective as string)) {
      fail(path, `measurements[${i}].collective`, `expected one of ${COLLECTIVE_KINDS.join(', ')}, got ${show(r.collective)}`);
    }
    for (const key of ['bytes', 'count', 'timeUs', 'algbw', 'busbw', 'wrong']) number(r, key, path, `measurements[${i}].${key}`, false);
    const kind = r.collective as string;
    const previous = last.get(kind);
    if (previous !== undefined && (r.bytes as number) <= previous) {
      fail(path, `measurements[${i}].bytes`, `sizes out of order: ${r.bytes} follows ${previous} for ${kind}; each collective's sizes must increase`);
    }
    last.set(kind, r.bytes as number);
  });
}

/** Reads, checks and returns a profile file as the model's profile (with its path and hash). */
export function loadProfileFile(pathGiven: string): InterconnectProfile {
  const path = resolve(pathGiven);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError('--interconnect', `cannot read the profile file '${pathGiven}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UsageError('--interconnect', `${pathGiven}: not JSON (${(error as Error).message})`);
  }
  const p = validateProfile(raw, pathGiven);
  return {
    name: p.name,
    description: p.description ?? `profile file ${pathGiven}`,
    alpha: p.alpha,
    intraNodeBandwidth: p.intraNodeBandwidth,
    interNodeBandwidth: p.interNodeBandwidth,
    gpusPerNode: p.gpusPerNode,
    ...(p.collectives ? { collectives: p.collectives } : {}),
    file: { path, sha256: createHash('sha256').update(text).digest('hex') },
  };
}
