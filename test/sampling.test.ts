/** Partial FC's centre sampling (docs/design.md, sampling). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { core } from '../src/core/index.js';
import { allocate } from '../src/core/backend.js';
import { numSampled } from '../src/strategies/config.js';
import { sampledCapacity } from '../src/strategies/partial-fc.js';
import { testBackend, lcg } from './helpers.js';

interface Sample {
  indices: number[];
  remapped: number[];
}

function sample(labels: number[], shardOffset: number, shardSize: number, rate: number, seed: number, stream = 5): Sample {
  const backend = testBackend();
  const n = numSampled(rate, shardSize);
  const cap = sampledCapacity(labels.length, shardSize, rate);
  const lab = allocate(backend, 'workspace', 'int32', labels.length);
  const keys = allocate(backend, 'workspace', 'int32', shardSize, 2);
  const idx = allocate(backend, 'workspace', 'int32', cap);
  const remapped = allocate(backend, 'workspace', 'int32', labels.length);
  try {
    lab.write(Int32Array.from(labels));
    const count = core().sampleCentres(lab, { shardOffset, shardSize, numSampled: n, seed, stream }, keys, idx, remapped);
    return { indices: Array.from(idx.view(0, count).read()), remapped: Array.from(remapped.read()) };
  } finally {
    for (const t of [lab, keys, idx, remapped]) t.free();
  }
}

function checkSample(labels: number[], offset: number, size: number, rate: number, seed: number): Sample {
  const s = sample(labels, offset, size, rate, seed);
  const positives = new Set(labels.filter((l) => l >= offset && l < offset + size).map((l) => l - offset));
  assert.equal(s.indices.length, Math.max(positives.size, Math.floor(rate * size + 1e-9)), 'active count is max(positives, floor(rate * C_r))');
  for (let k = 1; k < s.indices.length; k++) assert.ok(s.indices[k] > s.indices[k - 1], 'indices sorted and unique');
  for (const i of s.indices) assert.ok(i >= 0 && i < size, 'indices inside the shard');
  for (const p of positives) assert.ok(s.indices.includes(p), `positive ${p} is active`);
  labels.forEach((l, i) => {
    const local = l - offset;
    if (local < 0 || local >= size) assert.equal(s.remapped[i], -1, `label ${l} outside the shard maps to -1`);
    else assert.equal(s.indices[s.remapped[i]], local, `label ${l} maps to its active position`);
  });
  return s;
}

test('every positive is active, count is max(positives, floor(rate * C_r)), sorted, labels remapped', () => {
  const rand = lcg(3);
  const labels = Array.from({ length: 50 }, () => Math.floor(rand() * 1000));
  labels.push(labels[0], labels[1], 300, 300, 399); // repeats and shard edges
  checkSample(labels, 300, 100, 0.1, 1);
  checkSample(labels, 0, 1000, 0.05, 2);
  checkSample(labels, 990, 10, 0.1, 3); // more positives than the sampled count
});

test('more positives than floor(rate * C_r): every positive and nothing else', () => {
  const labels = [10, 11, 12, 13, 14, 15, 10];
  const s = checkSample(labels, 10, 20, 0.1, 9);
  assert.deepEqual(s.indices, [0, 1, 2, 3, 4, 5]);
});

test('the same seed gives the same sample; another seed or step gives another', () => {
  const labels = [5, 17, 17, 230, 999];
  const a = sample(labels, 0, 1000, 0.1, 42);
  const b = sample(labels, 0, 1000, 0.1, 42);
  const c = sample(labels, 0, 1000, 0.1, 43);
  const d = sample(labels, 0, 1000, 0.1, 42, 6);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.indices, c.indices);
  assert.notDeepEqual(a.indices, d.indices);
});

test('negatives are spread uniformly over the shard', () => {
  // 200 draws of 100 from 1000 rows: each row is chosen about 20 times.
  const counts = new Array<number>(1000).fill(0);
  for (let stream = 0; stream < 200; stream++) for (const i of sample([], 0, 1000, 0.1, 7, stream).indices) counts[i]++;
  const firstHalf = counts.slice(0, 500).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(firstHalf - 10000) < 600, `first half chosen ${firstHalf} times of 20000`);
  assert.ok(Math.max(...counts) < 45 && Math.min(...counts) > 5, 'no row is starved or favoured');
});

// An independent reference of the sampling rule (sampling.h): the splitmix64 scores in BigInt,
// positives on top, a full sort by (score desc, row asc), the first `active`, sorted by row.
const MASK64 = (1n << 64n) - 1n;
function mix64(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}
function referenceScores(seed: number, stream: number, offset: number, size: number): number[] {
  const key = mix64(mix64((BigInt(seed) + 0x9e3779b97f4a7c15n) & MASK64) ^ ((BigInt(stream) * 0xd1b54a32d192ed03n) & MASK64));
  return Array.from({ length: size }, (_, j) => Number(mix64((key + BigInt(offset + j)) & MASK64) >> 40n));
}
function referenceSample(labels: number[], offset: number, size: number, numSampledRows: number, seed: number, stream: number): number[] {
  const scores = referenceScores(seed, stream, offset, size);
  for (const l of labels) if (l >= offset && l < offset + size) scores[l - offset] = 2 ** 24;
  const positives = scores.filter((s) => s === 2 ** 24).length;
  const rows = Array.from({ length: size }, (_, j) => j).sort((a, b) => scores[b] - scores[a] || a - b);
  return rows.slice(0, Math.max(positives, numSampledRows)).sort((a, b) => a - b);
}

function sampleWith(labels: number[], shardOffset: number, shardSize: number, numSampledRows: number, seed: number, stream: number): number[] {
  const backend = testBackend();
  const cap = Math.max(Math.min(labels.length, shardSize), numSampledRows);
  const lab = allocate(backend, 'workspace', 'int32', Math.max(labels.length, 1));
  const keys = allocate(backend, 'workspace', 'int32', shardSize, 2);
  const idx = allocate(backend, 'workspace', 'int32', cap);
  const remapped = allocate(backend, 'workspace', 'int32', Math.max(labels.length, 1));
  try {
    lab.write(Int32Array.from(labels.length ? labels : [-1]));
    const spec = { shardOffset, shardSize, numSampled: numSampledRows, seed, stream };
    const count = core().sampleCentres(lab, spec, keys, idx, remapped);
    return Array.from(idx.view(0, count).read());
  } finally {
    for (const t of [lab, keys, idx, remapped]) t.free();
  }
}

test('threshold selection picks exactly the rows of a full sort (independent BigInt reference)', () => {
  const rand = lcg(21);
  const cases = [
    { offset: 0, size: 1000, rate: 0.1, batch: 40 },
    { offset: 123457, size: 20011, rate: 0.1, batch: 300 },
    { offset: 77, size: 4096, rate: 0.5, batch: 64 },
    { offset: 5, size: 300, rate: 0.01, batch: 50 }, // positives outnumber the sample
    { offset: 9, size: 64, rate: 1, batch: 10 }, // every row
  ];
  for (const [k, c] of cases.entries()) {
    const labels = Array.from({ length: c.batch }, () => c.offset - 20 + Math.floor(rand() * (c.size + 40)));
    const n = numSampled(c.rate, c.size);
    const got = sampleWith(labels, c.offset, c.size, n, 31 + k, 1000 + k);
    assert.deepEqual(got, referenceSample(labels, c.offset, c.size, n, 31 + k, 1000 + k), `case ${k}`);
  }
});

test('a boundary inside a group of equal scores takes the lowest-numbered rows of the group', () => {
  const size = 20000;
  let checked = 0;
  for (let stream = 0; stream < 20 && checked < 3; stream++) {
    const scores = referenceScores(3, stream, 0, size);
    const seen = new Map<number, number>();
    for (const s of scores) seen.set(s, (seen.get(s) ?? 0) + 1);
    for (const [score, count] of seen) {
      if (count < 2) continue;
      // Take all rows scoring above `score` and one of its `count` rows.
      const above = scores.filter((s) => s > score).length;
      const got = sampleWith([], 0, size, above + 1, 3, stream);
      const tied = scores.flatMap((s, j) => (s === score ? [j] : []));
      assert.ok(got.includes(tied[0]) && !tied.slice(1).some((j) => got.includes(j)), `stream ${stream}: tie at score ${score} goes to row ${tied[0]}`);
      assert.deepEqual(got, referenceSample([], 0, size, above + 1, 3, stream));
      checked++;
      break;
    }
  }
  assert.ok(checked >= 3, `ties found and checked on ${checked} streams`);
});
