/**
 * pfc-bench compare: synthetic "current" results derived from the committed ci baseline (a
 * real run of the ci scenario on two CPU cores): noise within the spread passes, a 30%
 * slowdown of one strategy is caught and named, a memory increase of one category is caught
 * exactly, a machine uniformly 2x slower is not a regression; plus the CLI's contract.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/core/binding.js';
import type { CellResult, ResultsFile } from '../src/bench/results.js';
import { compareResults, readResults, DEFAULT_COMPARE_OPTIONS, type Comparison } from '../src/compare/compare.js';
import { compareCommand, parseCompareArgs } from '../src/compare/command.js';
import { formatComparison } from '../src/compare/format.js';
import { mergeRuns } from '../src/compare/record.js';
import { UsageError } from '../src/core/errors.js';
import { expandScenario, loadScenario } from '../src/bench/scenario.js';
import { runCell } from '../src/bench/cell.js';

const baselinePath = join(packageRoot(), 'bench', 'baselines', 'ci.json');
const baseline = readResults(baselinePath);
const clone = (r: ResultsFile): ResultsFile => structuredClone(r);
const PHASE_NAMES = ['communication', 'sampling', 'normalize', 'gemm', 'softmax', 'update'] as const;

/** Deterministic numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Scales every time of a cell: steps and phases by `work`, the GEMM reference by `reference`. */
function scaleTimes(cell: CellResult, work: () => number, reference: () => number): void {
  const t = cell.timing!;
  for (const trial of t.trials!) {
    const w = work();
    trial.stepMs *= w;
    for (const p of PHASE_NAMES) trial.phasesMs[p] *= w;
    trial.gemmMs *= reference();
  }
  const w = work();
  t.stepMs.samples = t.stepMs.samples.map((s) => s * w);
  t.stepMs.median *= w;
  for (const p of PHASE_NAMES) t.phasesMs[p] *= w;
  const g = reference();
  cell.reference!.gemmMs.median *= g;
}

const byStrategy = (strategy: string, update?: string) => (c: CellResult) => c.spec.strategy === strategy && (update === undefined || c.spec.update === update);
const compare = (current: ResultsFile, options = DEFAULT_COMPARE_OPTIONS): Comparison => compareResults(baseline, current, options);

test('the committed ci baseline is a real, repeated run of the ci scenario with per-trial references', () => {
  assert.equal(baseline.scenario.name, 'ci');
  const ids = new Set(baseline.cells.map((c) => c.id));
  assert.equal(ids.size, loadScenario('ci').cells.length, 'one id per cell of the ci scenario');
  assert.ok(baseline.cells.length >= 8, 'several runs of each cell');
  for (const cell of baseline.cells) {
    assert.equal(cell.status, 'completed');
    assert.equal(cell.timing!.trials!.length, cell.spec.trials);
    for (const trial of cell.timing!.trials!) assert.ok(trial.gemmMs > 0 && trial.stepMs > 0);
  }
});

test('the baseline against itself: ok, every deterministic figure equal', () => {
  // (the same file on both sides: the same CPU signature, or none on either)
  const result = compare(clone(baseline));
  assert.equal(result.ok, true);
  assert.ok(result.cells.every((c) => c.verdict === 'ok'));
  assert.ok(result.cells.every((c) => c.figures.every((f) => f.verdict === 'equal')));
  assert.ok(result.cells.every((c) => c.timing.find((r) => r.metric === 'step')!.ratio === 1));
});

test('noise within the spread passes (each trial and its reference jittered by up to 8%)', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const random = rng(seed);
    const current = clone(baseline);
    for (const cell of current.cells) scaleTimes(cell, () => 0.92 + 0.16 * random(), () => 0.92 + 0.16 * random());
    const result = compare(current);
    assert.equal(result.ok, true, formatComparison(result));
  }
});

test('a 30% slowdown of one strategy is caught and names the strategy', () => {
  const current = clone(baseline);
  const random = rng(9);
  for (const cell of current.cells) {
    const slow = byStrategy('partial-fc', 'dense')(cell) ? 1.3 : 1;
    scaleTimes(cell, () => slow * (0.97 + 0.06 * random()), () => 0.97 + 0.06 * random());
  }
  const result = compare(current);
  assert.equal(result.ok, false);
  const steps = result.regressions.filter((r) => r.metric === 'step');
  assert.deepEqual([...new Set(steps.map((r) => r.strategy))], ['partial-fc 0.1 dense']);
  assert.ok(steps.every((r) => r.ratio! > 1.2 && r.ratio! < 1.4));
  for (const cell of result.cells.filter((c) => c.strategy !== 'partial-fc 0.1 dense')) assert.equal(cell.verdict, 'ok');
  const text = formatComparison(result);
  assert.match(text, /partial-fc 0\.1 dense\s+step.*REGRESSED/);
  assert.match(text, /REGRESSION: /);
});

test('a slower phase is named (softmax 3x in model parallel)', () => {
  const current = clone(baseline);
  for (const cell of current.cells.filter(byStrategy('model-parallel'))) {
    for (const trial of cell.timing!.trials!) {
      trial.stepMs += 2 * trial.phasesMs.softmax;
      trial.phasesMs.softmax *= 3;
    }
  }
  const result = compare(current);
  assert.equal(result.ok, false);
  const softmax = result.regressions.find((r) => r.metric === 'softmax');
  assert.ok(softmax, formatComparison(result));
  assert.equal(softmax.strategy, 'model-parallel sparse');
  assert.ok(result.regressions.every((r) => r.strategy === 'model-parallel sparse'));
});

test('a tiny phase that triples stays immaterial; one slow trial alone is inconsistent', () => {
  const current = clone(baseline);
  // Model parallel samples nothing: its 'sampling' phase is microseconds of bookkeeping.
  for (const cell of current.cells.filter(byStrategy('model-parallel'))) for (const trial of cell.timing!.trials!) trial.phasesMs.sampling *= 3;
  const outlier = current.cells.find(byStrategy('model-parallel'))!;
  outlier.timing!.trials![0].stepMs *= 3;
  const result = compare(current);
  assert.equal(result.ok, true, formatComparison(result));
  const sampling = result.cells.flatMap((c) => c.timing).filter((r) => r.metric === 'sampling' && r.ratio > 2);
  assert.ok(sampling.length > 0 && sampling.every((r) => r.verdict === 'slower (immaterial)'));
});

test('a machine uniformly 2x slower (reference and strategies alike) is not a regression', () => {
  const current = clone(baseline);
  for (const cell of current.cells) scaleTimes(cell, () => 2, () => 2);
  const result = compare(current);
  assert.equal(result.ok, true, formatComparison(result));
  for (const cell of result.cells) {
    assert.ok(Math.abs(cell.referenceRatio! - 2) < 1e-9);
    assert.ok(Math.abs(cell.timing.find((r) => r.metric === 'step')!.ratio - 1) < 1e-9);
  }
  assert.ok(result.notes.some((n) => /2\.00x the baseline's time/.test(n)));
  // ... while the same 2x on the strategies alone, on the same machine, is a regression everywhere.
  const slow = clone(baseline);
  for (const cell of slow.cells) scaleTimes(cell, () => 2, () => 1);
  assert.equal(new Set(compare(slow).regressions.filter((r) => r.metric === 'step').map((r) => r.strategy)).size, loadScenario('ci').cells.length);
});

test('a faster machine whose GEMMs sped up even more is not a regression (slower only when normalized)', () => {
  // Steps 20% faster in milliseconds, the GEMM reference 40% faster: normalized, 1.33x slower.
  const current = clone(baseline);
  for (const cell of current.cells) scaleTimes(cell, () => 0.8, () => 0.6);
  const result = compare(current);
  assert.equal(result.ok, true, formatComparison(result));
  const steps = result.cells.map((c) => c.timing.find((r) => r.metric === 'step')!);
  assert.ok(steps.every((r) => r.ratio > 1.3 && r.verdict === 'slower (normalized only)'), JSON.stringify(steps.map((r) => [r.ratio, r.verdict])));
});

test('a memory increase of one category is caught exactly and names the category', () => {
  const current = clone(baseline);
  for (const cell of current.cells.filter(byStrategy('partial-fc', 'sparse'))) {
    cell.memory!.atPeak.logits += 1;
    cell.memory!.peakBytes += 1;
  }
  const result = compare(current);
  assert.equal(result.ok, false);
  const names = new Set(result.regressions.map((r) => `${r.strategy}: ${r.metric}`));
  assert.deepEqual([...names].sort(), ['partial-fc 0.1 sparse: memory.atPeak.logits', 'partial-fc 0.1 sparse: memory.peakBytes']);
  assert.ok(result.regressions.every((r) => r.verdict === 'larger'));
  assert.match(formatComparison(result), /memory\.atPeak\.logits\s+\d+\s+\d+\s+[\d.]+\s+\*\* LARGER \*\*/);
  // Within a stated tolerance it passes; a smaller figure is not a regression.
  assert.equal(compare(current, { ...DEFAULT_COMPARE_OPTIONS, memoryTolerance: 0.001 }).ok, true);
  const smaller = clone(baseline);
  for (const cell of smaller.cells) cell.memory!.atPeak.workspace -= 1;
  assert.equal(compare(smaller).ok, true);
});

test('FLOPs, bytes and collective byte counts must match exactly', () => {
  const flops = clone(baseline);
  flops.cells[0].work!.flopsPerStep += 1;
  assert.deepEqual(compare(flops).regressions.map((r) => r.metric), ['work.flopsPerStep']);
  const comm = clone(baseline);
  for (const cell of comm.cells.filter(byStrategy('model-parallel'))) cell.communication!.collectives[0].bytes *= 2;
  const result = compare(comm);
  assert.equal(result.ok, false);
  assert.ok(result.regressions.every((r) => r.strategy === 'model-parallel sparse' && /^collective allGather/.test(r.metric)));
});

test('cells missing or not completed in current fail; new cells are reported and pass', () => {
  const missing = clone(baseline);
  const dropped = missing.cells[0].id;
  missing.cells = missing.cells.filter((c) => c.id !== dropped);
  const r1 = compare(missing);
  assert.equal(r1.ok, false);
  assert.deepEqual(r1.regressions.map((r) => [r.cell, r.verdict]), [[dropped, 'missing']]);

  const failed = clone(baseline);
  for (const cell of failed.cells.filter((c) => c.id === dropped)) {
    cell.status = 'error';
    cell.error = 'boom';
  }
  const r2 = compare(failed);
  assert.equal(r2.ok, false);
  assert.equal(r2.regressions[0].verdict, 'not completed');
  assert.match(formatComparison(r2), /NOT COMPLETED.*boom/);

  // A new configuration (cells are matched by configuration, not id: a copy with another id is another run of the same cell).
  const extra = clone(baseline);
  const added = structuredClone(extra.cells[0]);
  added.id = `${added.id}|extra`;
  added.spec.classes += added.spec.ranks;
  extra.cells.push(added);
  const r3 = compare(extra);
  assert.equal(r3.ok, true);
  const entry = r3.cells.find((c) => c.id === added.id)!;
  assert.equal(entry.verdict, 'new');
  assert.match(entry.detail!, new RegExp(`the nearest, .*, differs in classes ${added.spec.classes - added.spec.ranks} vs ${added.spec.classes} \\(baseline vs current\\)$`));
});

test('cells are matched by the configuration that defines them: a budget or label that differs is matched and named; an interconnect that differs is another cell', () => {
  // The same configuration with --gpu-memory 80GB against 80GiB (issue 21: MISSING, REGRESSION, exit 1).
  const budgets = (bytes: number) => {
    const r = clone(baseline);
    for (const c of r.cells) {
      c.spec.memoryBudget = bytes;
      c.id = `${c.id}|budget${bytes}`;
      c.spec.label = `label ${bytes}`;
    }
    return r;
  };
  const si = compareResults(budgets(80e9), budgets(80 * 2 ** 30));
  assert.equal(si.verdict, 'ok', formatComparison(si));
  assert.equal(si.common, new Set(baseline.cells.map((c) => c.id)).size);
  assert.ok(si.cells.every((c) => c.verdict === 'ok'));
  assert.ok(si.notes.some((n) => /measurement setting 'memoryBudget' differs \(80 GB = 74\.51 GiB .* vs 85\.9 GB = 80 GiB .*\): a budget decides whether a cell fits, not what it measures/.test(n)), si.notes.join('\n'));

  // Another interconnect models other communication: not the same cell, never "compared anyway".
  const other = clone(baseline);
  for (const c of other.cells) c.spec.interconnect = 'pcie4-8gpu-1xhdr';
  const emulated = baseline.cells.filter((c) => c.spec.mode === 'emulate');
  assert.ok(emulated.length > 0, 'the ci baseline has emulated cells');
  const r = compareResults(baseline, other);
  assert.ok(!r.notes.some((n) => /compared anyway/.test(n) && /interconnect/.test(n)));
  const missing = r.cells.filter((c) => c.verdict === 'missing');
  assert.equal(missing.length, new Set(emulated.map((c) => c.id)).size);
  for (const m of missing) assert.match(m.detail!, /differs in interconnect nvswitch3-8gpu-8xhdr vs pcie4-8gpu-1xhdr \(baseline vs current\)$/);

  // An old name is the same profile: matched (the baseline says nvlink-a100).
  const renamed = clone(baseline);
  for (const c of renamed.cells) if (c.spec.interconnect === 'nvlink-a100') c.spec.interconnect = 'nvswitch3-8gpu-8xhdr';
  assert.equal(compareResults(baseline, renamed).verdict, 'ok');
});

test('compare CLI: two files with no cell in common are bad input (exit 2) naming what differs, not a regression', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-compare-'));
  const otherPath = join(dir, 'other.json');
  const other = clone(baseline);
  for (const c of other.cells) c.spec.batch *= 2;
  writeFileSync(otherPath, JSON.stringify(other));
  assert.throws(
    () => compareCommand([baselinePath, otherPath], () => undefined),
    (e: Error) => e instanceof UsageError && /no cell with the same configuration, so nothing was compared/.test(e.message) && /differs in batch \d+ vs \d+/.test(e.message),
  );
  const emptyPath = join(dir, 'empty.json');
  writeFileSync(emptyPath, JSON.stringify({ ...baseline, cells: [] }));
  assert.throws(() => compareCommand([emptyPath, baselinePath], () => undefined), (e: Error) => e instanceof UsageError && /the baseline has no cells/.test(e.message));
});

test('results without per-trial data fall back to cell-level medians', () => {
  const coarse = clone(baseline);
  for (const cell of coarse.cells) delete cell.timing!.trials;
  const same = compareResults(coarse, clone(coarse));
  assert.equal(same.ok, true);
  assert.ok(same.cells.every((c) => c.coarse));
  const slow = clone(coarse);
  for (const cell of slow.cells.filter(byStrategy('data-parallel'))) cell.timing!.stepMs.median *= 1.5;
  assert.deepEqual(compareResults(coarse, slow).regressions.map((r) => [r.strategy, r.metric]), [['data-parallel', 'step']]);
});

test('compare CLI: exit codes, --json, and clear errors for bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-compare-'));
  const slowPath = join(dir, 'slow.json');
  const slow = clone(baseline);
  for (const cell of slow.cells.filter(byStrategy('data-parallel'))) scaleTimes(cell, () => 1.5, () => 1);
  writeFileSync(slowPath, JSON.stringify(slow));
  let out = '';
  const write = (t: string) => void (out += t);
  assert.equal(compareCommand([baselinePath, baselinePath], write), 0);
  assert.match(out, new RegExp(`^OK: no regression in ${loadScenario('ci').cells.length} compared cell\\(s\\)$`, 'm'));
  out = '';
  assert.equal(compareCommand([baselinePath, slowPath, '--json'], write), 1);
  const json = JSON.parse(out) as Comparison;
  assert.equal(json.ok, false);
  assert.ok(json.regressions.some((r) => r.strategy === 'data-parallel' && r.metric === 'step'));
  assert.equal(compareCommand([baselinePath, slowPath, '--threshold', '1.6'], () => undefined), 0);

  const notJson = join(dir, 'bad.json');
  writeFileSync(notJson, '{ nope');
  const otherSchema = join(dir, 'other.json');
  writeFileSync(otherSchema, JSON.stringify({ schema: 'something/else', cells: [] }));
  const newer = join(dir, 'newer.json');
  writeFileSync(newer, JSON.stringify({ ...baseline, schemaVersion: 99 }));
  assert.throws(() => compareCommand([baselinePath, join(dir, 'absent.json')], write), (e: Error) => e instanceof UsageError && /CURRENT: .*absent\.json: cannot read the results file \(ENOENT\)/.test(e.message));
  assert.throws(() => compareCommand([notJson, baselinePath], write), /BASELINE: .*bad\.json: not a JSON results file/);
  assert.throws(() => compareCommand([baselinePath, otherSchema], write), /not a pfc-bench results file \(schema is "something\/else"\)/);
  assert.throws(() => compareCommand([baselinePath, newer], write), /schema version 99 is not supported/);
  assert.throws(() => parseCompareArgs([baselinePath]), /expected two results files/);
  assert.throws(() => parseCompareArgs([baselinePath, slowPath, '--treshold', '2']), /--treshold: unknown option for 'compare' \(did you mean '--threshold'\?\)/);
  assert.throws(() => parseCompareArgs([baselinePath, slowPath, '--threshold', 'x']), /--threshold: expected a number/);
  assert.throws(() => parseCompareArgs([baselinePath, slowPath, '--memory-tolerance', '-1']), /--memory-tolerance/);
});

test('record: repeated runs merge into one file whose trials compare pools', () => {
  const one = clone(baseline);
  const ids = [...new Set(one.cells.map((c) => c.id))];
  one.cells = ids.map((id) => one.cells.find((c) => c.id === id)!);
  const merged = mergeRuns([one, clone(one), clone(one)]);
  assert.equal(merged.cells.length, 3 * ids.length);
  assert.equal(merged.scenario.overrides.recordedRuns, 3);
  const result = compareResults(merged, one);
  assert.ok(result.cells.every((c) => c.runs!.baseline === 3 && c.runs!.current === 1 && c.trials!.baseline === 3 * c.trials!.current));
});

test('runCell records per-trial medians and a reference after each trial, without touching the memory figures', () => {
  const [spec] = expandScenario(loadScenario('ci'), { strategy: 'partial-fc', classes: 8192, batch: 64, dim: 32, steps: 2, trials: 3, warmup: 1, threads: 1 });
  const cell = runCell(spec);
  const trials = cell.timing!.trials!;
  assert.equal(trials.length, 3);
  for (const t of trials) {
    assert.ok(t.gemmMs > 0 && t.stepMs > 0);
    assert.ok(t.phasesMs.gemm > 0);
  }
  assert.equal(cell.timing!.stepMs.samples.length, spec.steps * spec.trials);
  assert.deepEqual(cell.memory!.atPeak, cell.memory!.modelBytes);
});

/** One run of each cell with its first trial only: what a run with --trials 1 records. */
function oneTrial(results: ResultsFile): ResultsFile {
  const one = clone(results);
  const ids = [...new Set(one.cells.map((c) => c.id))];
  one.cells = ids.map((id) => one.cells.find((c) => c.id === id)!);
  for (const cell of one.cells) cell.timing!.trials = cell.timing!.trials!.slice(0, 1);
  return one;
}

test('one trial a side: a slowdown is inconclusive (exit 3), never regressed', () => {
  const base = oneTrial(baseline);
  const current = clone(base);
  // Noise of one unlucky trial: with one trial the consistency test would pass trivially.
  for (const cell of current.cells.filter(byStrategy('model-parallel'))) scaleTimes(cell, () => 1.3, () => 1);
  const result = compareResults(base, current);
  assert.equal(result.verdict, 'inconclusive', formatComparison(result));
  assert.equal(result.ok, true);
  assert.deepEqual(result.regressions, []);
  const cell = result.cells.find((c) => c.strategy === 'model-parallel sparse')!;
  assert.equal(cell.verdict, 'inconclusive');
  assert.match(cell.inconclusive ?? '', /1 baseline and 1 current trial\(s\); at least 3/);
  assert.match(formatComparison(result), /INCONCLUSIVE/);
  const dir = mkdtempSync(join(tmpdir(), 'pfc-compare-'));
  writeFileSync(join(dir, 'b.json'), JSON.stringify(base));
  writeFileSync(join(dir, 'c.json'), JSON.stringify(current));
  assert.equal(compareCommand([join(dir, 'b.json'), join(dir, 'c.json')], () => undefined), 3);
  // Identical single-trial runs are ok.
  assert.equal(compareResults(base, clone(base)).verdict, 'ok');
});

test('a GEMM reference 83x slower (a contended machine) makes a slower phase inconclusive, not regressed', () => {
  const current = clone(baseline);
  for (const cell of current.cells.filter(byStrategy('model-parallel'))) {
    for (const trial of cell.timing!.trials!) {
      trial.gemmMs *= 83;
      trial.phasesMs.softmax *= 5.6 * 83;
      trial.stepMs *= 83;
    }
    cell.reference!.gemmMs.median *= 83;
  }
  const result = compare(current);
  assert.equal(result.verdict, 'inconclusive', formatComparison(result));
  assert.ok(!result.regressions.some((r) => r.metric === 'softmax'));
  const cell = result.cells.find((c) => c.strategy === 'model-parallel sparse')!;
  assert.match(cell.inconclusive ?? '', /GEMM reference itself ran 83\.00x/);
  // The deliberate slowdown on a steady machine is still caught, with the phase named.
  const steady = clone(baseline);
  for (const c of steady.cells.filter(byStrategy('model-parallel'))) {
    for (const trial of c.timing!.trials!) {
      trial.stepMs += 2 * trial.phasesMs.softmax;
      trial.phasesMs.softmax *= 3;
    }
  }
  const caught = compare(steady);
  assert.equal(caught.verdict, 'regressed');
  assert.ok(caught.regressions.some((r) => r.metric === 'softmax'));
});

/** A signature for synthetic files (the committed baseline may predate signatures). */
const SIGNATURE = { vendor: 'AuthenticAMD', model: 'AMD EPYC', family: 25, modelNumber: 17, stepping: 1, flags: { avx2: true, avx512f: true, avx512_bf16: true, amx: false }, blasCore: 'Cooperlake', simd: 'AVX3_ZEN4' };

/** The baseline with a given signature (undefined: none), and a copy whose data-parallel cell is 1.5x slower with another. */
function signedPair(base: typeof SIGNATURE | undefined, cur: typeof SIGNATURE | undefined): [ResultsFile, ResultsFile] {
  const b = clone(baseline);
  const c = clone(baseline);
  if (base) b.context.cpuSignature = structuredClone(base);
  else delete b.context.cpuSignature;
  if (cur) c.context.cpuSignature = structuredClone(cur);
  else delete c.context.cpuSignature;
  for (const cell of c.cells.filter(byStrategy('data-parallel'))) scaleTimes(cell, () => 1.5, () => 1);
  return [b, c];
}

test('CPU signatures: the same one judges timings; another (BLAS core, SIMD target) or a missing one makes a slowdown inconclusive, and says why', () => {
  const same = compareResults(...signedPair(SIGNATURE, SIGNATURE));
  assert.equal(same.verdict, 'regressed');
  assert.equal(same.machine.basis, 'signature');
  const avx2 = { ...SIGNATURE, flags: { ...SIGNATURE.flags, avx512f: false, avx512_bf16: false }, blasCore: 'Zen', simd: 'AVX2' };
  const other = compareResults(...signedPair(SIGNATURE, avx2));
  assert.equal(other.verdict, 'inconclusive', formatComparison(other));
  assert.deepEqual(other.regressions, []);
  const text = formatComparison(other);
  assert.match(text, /note: CPU signature differs \(avx512f yes vs no; avx512_bf16 yes vs no; blasCore Cooperlake vs Zen; simd AVX3_ZEN4 vs AVX2\): timings recorded on different CPUs cannot judge a change; run `npm run guard` to measure both revisions on this machine/);
  assert.match(text, /CPU signature: baseline AuthenticAMD AMD EPYC .*SIMD AVX3_ZEN4\n\s+current  .*BLAS core Zen; SIMD AVX2/);
  assert.match(text, /^INCONCLUSIVE: 1 cell\(s\)/m);
  // The dispatched target alone (PFC_SIMD_MAX on the same machine) is a different signature too.
  assert.equal(compareResults(...signedPair(SIGNATURE, { ...SIGNATURE, simd: 'AVX2' })).verdict, 'inconclusive');
  // Stepping is not compared.
  assert.equal(compareResults(...signedPair(SIGNATURE, { ...SIGNATURE, stepping: 2 })).verdict, 'regressed');
  for (const [b, c, missing] of [[undefined, SIGNATURE, 'baseline'], [SIGNATURE, undefined, 'current']] as const) {
    const r = compareResults(...signedPair(b, c));
    assert.equal(r.verdict, 'inconclusive');
    assert.match(formatComparison(r), new RegExp(`the ${missing} file records no CPU signature`));
  }
  // Neither has one: the CPU model name and the BLAS config decide.
  const [b, c] = signedPair(undefined, undefined);
  assert.equal(compareResults(b, c).verdict, 'regressed');
  c.context.cpu = 'Intel(R) Xeon(R) Platinum 8481C';
  const models = compareResults(b, c);
  assert.equal(models.verdict, 'inconclusive');
  assert.match(formatComparison(models), /CPU differs \(cpu .* vs Intel\(R\) Xeon\(R\) Platinum 8481C; neither file records a CPU signature\)/);
});

test('compare --figures-only: timings are not judged, the deterministic figures still are', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-compare-'));
  const [b, c] = signedPair(SIGNATURE, SIGNATURE);
  writeFileSync(join(dir, 'b.json'), JSON.stringify(b));
  writeFileSync(join(dir, 'c.json'), JSON.stringify(c));
  assert.equal(compareCommand([join(dir, 'b.json'), join(dir, 'c.json')], () => undefined), 1);
  let out = '';
  assert.equal(compareCommand([join(dir, 'b.json'), join(dir, 'c.json'), '--figures-only'], (t) => void (out += t)), 0);
  assert.match(out, /note: deterministic figures only: timings are not judged/);
  assert.doesNotMatch(out, /step \(ref/);
  c.cells[0].memory!.atPeak.logits += 1;
  writeFileSync(join(dir, 'c.json'), JSON.stringify(c));
  assert.equal(compareCommand([join(dir, 'b.json'), join(dir, 'c.json'), '--figures-only'], () => undefined), 1);
});
