/**
 * The regression guard: its verdicts on recorded pairs, its orchestration with the outside
 * world (git, builds, child runs) injected, and the CPU signature it relies on.
 *
 * Recorded pairs (test/fixtures/guard/, per-step samples stripped, per-trial data kept), all
 * on a 2-core AMD EPYC (Zen 4, AVX-512) VM:
 * - two-cpus-{cooperlake,haswell,zen-avx2}.json: unchanged code, the ci scenario recorded as is
 *   (OpenBLAS picks Cooperlake, the kernels AVX3), as with another BLAS core
 *   (OPENBLAS_CORETYPE=Haswell), and as on an AVX2-only CPU like CI's (PFC_SIMD_MAX=avx2
 *   OPENBLAS_CORETYPE=Zen):
 *     node dist/src/compare/record.js --runs 1 OUT.json -- --scenario ci --threads 1 --steps 10 --trials 7
 * - unchanged-{baseline,current}.json: `npm run guard -- --baseline-rev HEAD` (the same code on
 *   both sides, measured interleaved, 3 rounds);
 * - slow-gemm-{baseline,current}.json: `npm run guard -- --baseline-rev HEAD --inject-slowdown
 *   gemm:1.3` (the candidate's GEMM phase made 1.3x slower by the PFC_SLOW_PHASE hook). GEMM
 *   is the phase that is material here: in the ci scenario softmax is about 9% of the step, so
 *   a 1.3x softmax adds under 3% of the step, which the materiality rule (7.5%) calls immaterial.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/core/binding.js';
import type { ResultsFile } from '../src/bench/results.js';
import { compareResults, readResults, type Comparison } from '../src/compare/compare.js';
import { formatComparison } from '../src/compare/format.js';
import {
  formatGuard,
  guardRunArgs,
  parseGuardArgs,
  prepareTree,
  resolveBaselineRev,
  roundOrder,
  runGuard,
  type GuardArgs,
  type GuardDeps,
  type Side,
} from '../src/compare/guard.js';
import { parseSlowdown } from '../src/core/cpu-backend.js';
import { blasCoreOf, formatCpuSignature, parseCpuinfo, sameCpuSignature, signatureDifferences, type CpuSignature } from '../src/bench/signature.js';
import { UsageError } from '../src/core/errors.js';

const fixtures = join(packageRoot(), 'test', 'fixtures', 'guard');
const load = (name: string): ResultsFile => readResults(join(fixtures, name));
const clone = (r: ResultsFile): ResultsFile => structuredClone(r);
const timingRegressions = (c: Comparison) => c.regressions.filter((r) => r.metric !== 'cell' && !r.metric.includes('.') && !r.metric.startsWith('collective') && r.metric !== 'activeCentres');

// --- verdicts on recorded pairs -------------------------------------------------------------

test('unchanged code on two CPUs (recorded pairs): ok or inconclusive, never regressed, and the message says the signatures differ', () => {
  const a = load('two-cpus-cooperlake.json');
  assert.equal(a.context.cpuSignature!.blasCore, 'Cooperlake');
  assert.equal(a.context.cpuSignature!.simd, 'AVX3');
  const others = [
    { file: 'two-cpus-haswell.json', differs: /blasCore (Cooperlake vs Haswell|Haswell vs Cooperlake)\)/ },
    { file: 'two-cpus-zen-avx2.json', differs: /blasCore (Cooperlake vs Zen|Zen vs Cooperlake); simd (AVX3 vs AVX2|AVX2 vs AVX3)\)/ },
  ];
  for (const other of others) {
    const b = load(other.file);
    for (const [base, cur] of [[a, b], [b, a]]) {
      const result = compareResults(base, cur);
      assert.ok(result.verdict === 'ok' || result.verdict === 'inconclusive', formatComparison(result));
      assert.deepEqual(result.regressions, []);
      assert.equal(result.machine.comparable, false);
      const text = formatComparison(result);
      assert.match(text, /CPU signature differs \(/);
      assert.match(text, other.differs);
      assert.match(text, /timings recorded on different CPUs cannot judge a change; run `npm run guard`/);
      assert.ok(result.cells.every((c) => c.figures.every((f) => f.verdict === 'equal')), 'deterministic figures do not depend on the CPU');
    }
  }
});

test('across different signatures a real slowdown is inconclusive; with the same signature it is regressed', () => {
  const a = load('two-cpus-cooperlake.json');
  const slow = clone(load('two-cpus-haswell.json'));
  for (const cell of slow.cells) {
    for (const t of cell.timing!.trials!) {
      t.stepMs *= 1.5;
      t.phasesMs.gemm *= 1.5;
    }
  }
  const across = compareResults(a, slow);
  assert.equal(across.verdict, 'inconclusive', formatComparison(across));
  assert.deepEqual(across.regressions, []);
  assert.ok(across.cells.every((c) => c.verdict === 'inconclusive' && /different CPUs/.test(c.inconclusive ?? '')));
  // The same numbers with the baseline's signature: the rule applies and catches it.
  slow.context.cpuSignature = structuredClone(a.context.cpuSignature);
  const same = compareResults(a, slow);
  assert.equal(same.verdict, 'regressed', formatComparison(same));
  assert.ok(same.regressions.some((r) => r.metric === 'step'));
});

test('across CPUs a deterministic figure still fails', () => {
  const a = load('two-cpus-cooperlake.json');
  const b = clone(load('two-cpus-haswell.json'));
  b.cells[0].memory!.atPeak.logits += 4;
  b.cells[0].memory!.peakBytes += 4;
  const result = compareResults(a, b);
  assert.equal(result.verdict, 'regressed');
  assert.deepEqual(result.regressions.map((r) => r.metric).sort(), ['memory.atPeak.logits', 'memory.peakBytes']);
});

test('an old file without a signature against a new one: timings cannot judge (unknown CPU)', () => {
  const old = clone(load('two-cpus-cooperlake.json'));
  delete old.context.cpuSignature;
  const slow = clone(load('two-cpus-cooperlake.json'));
  for (const cell of slow.cells) for (const t of cell.timing!.trials!) (t.stepMs *= 1.5), (t.phasesMs.gemm *= 1.5);
  for (const [base, cur, missing] of [[old, slow, 'baseline'], [load('two-cpus-cooperlake.json'), (() => { const s = clone(slow); delete s.context.cpuSignature; return s; })(), 'current']] as const) {
    const result = compareResults(base, cur);
    assert.equal(result.verdict, 'inconclusive', formatComparison(result));
    assert.equal(result.machine.basis, 'unknown');
    assert.match(formatComparison(result), new RegExp(`the ${missing} file records no CPU signature \\(recorded before signatures\\)`));
  }
});

test('a guard run of unchanged code (baseline rev = candidate rev, recorded): ok or inconclusive, on one machine', () => {
  const base = load('unchanged-baseline.json');
  const cur = load('unchanged-current.json');
  assert.equal(base.context.pairedRun!.id, cur.context.pairedRun!.id);
  assert.equal(base.context.pairedRun!.revision, cur.context.pairedRun!.revision, 'the same revision on both sides');
  assert.equal(base.scenario.overrides.recordedRuns, 3);
  const result = compareResults(base, cur);
  assert.equal(result.machine.basis, 'paired');
  assert.ok(result.verdict === 'ok' || result.verdict === 'inconclusive', formatComparison(result));
  assert.deepEqual(result.regressions, []);
});

test('a guard run with the GEMM phase slowed 1.3x in the candidate (recorded): regressed, naming the phase', () => {
  const base = load('slow-gemm-baseline.json');
  const cur = load('slow-gemm-current.json');
  assert.equal(cur.context.backend.injectedSlowdown, 'gemm:1.3');
  assert.equal(base.context.backend.injectedSlowdown, undefined, 'the baseline side is not slowed');
  const result = compareResults(base, cur);
  assert.equal(result.verdict, 'regressed', formatComparison(result));
  const phases = new Set(timingRegressions(result).map((r) => r.metric));
  assert.ok(phases.has('gemm'), formatComparison(result));
  assert.ok([...phases].every((p) => p === 'gemm' || p === 'step'), `only the slowed phase (and the step) regress: ${[...phases].join(', ')}`);
  assert.ok(result.cells.filter((c) => c.verdict === 'regressed').length >= 3, formatComparison(result));
  assert.match(formatComparison(result), /phase gemm .*\*\* REGRESSED \*\*/);
  // The same files, as if from two CPUs (pairing dropped, one signature changed): inconclusive.
  const other = clone(cur);
  delete other.context.pairedRun;
  other.context.cpuSignature = { ...other.context.cpuSignature!, simd: 'AVX2' };
  const unpaired = clone(base);
  delete unpaired.context.pairedRun;
  assert.equal(compareResults(unpaired, other).verdict, 'inconclusive');
});

test('the committed ci baseline (no signature, another machine) against a recording here: never regressed', () => {
  const committed = readResults(join(packageRoot(), 'bench', 'baselines', 'ci.json'));
  const here = load('two-cpus-haswell.json');
  const result = compareResults(committed, here);
  assert.notEqual(result.verdict, 'regressed', formatComparison(result));
  if (!committed.context.cpuSignature) assert.equal(result.machine.basis, 'unknown');
});

// --- CPU signature ----------------------------------------------------------------------------

const INTEL_SPR = `processor	: 0
vendor_id	: GenuineIntel
cpu family	: 6
model		: 143
model name	: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
stepping	: 8
flags		: fpu vme sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16 amx_bf16 amx_tile amx_int8

processor	: 1
vendor_id	: SomethingElse
`;
const AMD_ZEN2 = `processor	: 0
vendor_id	: AuthenticAMD
cpu family	: 23
model		: 49
model name	: AMD EPYC 7B12
stepping	: 0
flags		: fpu sse sse2 avx avx2 fma bmi2
`;
const ARM = `processor	: 0
BogoMIPS	: 50.00
Features	: fp asimd evtstrm aes crc32
CPU implementer	: 0x41
`;

test('signature: /proc/cpuinfo of an Intel AVX-512/AMX, an AMD AVX2-only and an ARM CPU (no x86 flags)', () => {
  assert.deepEqual(parseCpuinfo(INTEL_SPR), {
    vendor: 'GenuineIntel',
    model: 'Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz',
    family: 6,
    modelNumber: 143,
    stepping: 8,
    flags: { avx2: true, avx512f: true, avx512_bf16: true, amx: true },
  });
  assert.deepEqual(parseCpuinfo(AMD_ZEN2), { vendor: 'AuthenticAMD', model: 'AMD EPYC 7B12', family: 23, modelNumber: 49, stepping: 0, flags: { avx2: true, avx512f: false, avx512_bf16: false, amx: false } });
  assert.deepEqual(parseCpuinfo(ARM, 'Neoverse-N1'), { vendor: '0x41', model: 'Neoverse-N1', family: null, modelNumber: null, stepping: null, flags: { avx2: false, avx512f: false, avx512_bf16: false, amx: false } });
  assert.deepEqual(parseCpuinfo('', 'some cpu').flags, { avx2: false, avx512f: false, avx512_bf16: false, amx: false });
});

test('signature: the OpenBLAS core from its config string (dynamic, forced, fixed, not OpenBLAS)', () => {
  assert.equal(blasCoreOf('OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY USE_OPENMP Cooperlake MAX_THREADS=64'), 'Cooperlake');
  assert.equal(blasCoreOf('OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY USE_OPENMP Haswell MAX_THREADS=64'), 'Haswell');
  assert.equal(blasCoreOf('OpenBLAS 0.3.26.dev DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=128'), 'Zen');
  assert.equal(blasCoreOf('OpenBLAS 0.3.20 NO_AFFINITY SMP HASWELL MAX_THREADS=8'), 'HASWELL');
  assert.equal(blasCoreOf('MKL 2024'), 'unknown');
  assert.equal(blasCoreOf(undefined), 'unknown');
});

test('signature: differences name the fields; stepping alone does not count; one line for people', () => {
  const a: CpuSignature = { ...parseCpuinfo(AMD_ZEN2), blasCore: 'Zen', simd: 'AVX2' };
  const b: CpuSignature = { ...parseCpuinfo(INTEL_SPR), blasCore: 'SapphireRapids', simd: 'AVX3_SPR' };
  assert.equal(sameCpuSignature(a, structuredClone(a)), true);
  assert.equal(sameCpuSignature(a, { ...a, stepping: 7 }), true);
  assert.deepEqual(signatureDifferences(a, { ...a, simd: 'SSE4' }), ['simd AVX2 vs SSE4']);
  assert.deepEqual(signatureDifferences(a, b), [
    'vendor AuthenticAMD vs GenuineIntel',
    'model AMD EPYC 7B12 vs Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz',
    'family 23 vs 6',
    'modelNumber 49 vs 143',
    'avx512f no vs yes',
    'avx512_bf16 no vs yes',
    'amx no vs yes',
    'blasCore Zen vs SapphireRapids',
    'simd AVX2 vs AVX3_SPR',
  ]);
  assert.equal(formatCpuSignature(a), 'AuthenticAMD AMD EPYC 7B12 (family 23, model 49, stepping 0); avx2 no-avx512f no-avx512_bf16 no-amx; BLAS core Zen; SIMD AVX2');
});

// --- the slowdown hook and the guard's options ------------------------------------------------

test('PFC_SLOW_PHASE and --inject-slowdown: PHASE:FACTOR, and a bad value names the variable or option', () => {
  assert.deepEqual(parseSlowdown('softmax:1.3'), { softmax: 1.3 });
  assert.deepEqual(parseSlowdown('gemm:1.3, update:2'), { gemm: 1.3, update: 2 });
  assert.deepEqual(parseSlowdown(undefined), {});
  for (const bad of ['softmax', 'softmx:1.3', 'softmax:0.5', 'softmax:x', 'gemm:1e9']) {
    assert.throws(() => parseSlowdown(bad), (e: Error) => e instanceof UsageError && /^PFC_SLOW_PHASE: expected PHASE:FACTOR/.test(e.message), bad);
  }
  assert.throws(() => parseGuardArgs(['--inject-slowdown', 'soft:2']), /--inject-slowdown: expected PHASE:FACTOR/);
  assert.throws(() => parseGuardArgs(['--rounds', '0']), /--rounds: expected a whole number/);
  assert.throws(() => parseGuardArgs(['--baseline-rv', 'x']), /--baseline-rv: unknown option for 'guard' \(did you mean '--baseline-rev'\?\)/);
  assert.deepEqual(parseGuardArgs([]), { baselineRev: undefined, rounds: 3, inject: undefined, cache: true, outDir: 'reports', all: false });
  assert.equal(parseGuardArgs(['--no-cache']).cache, false);
});

// --- orchestration, with git, the builds and the child runs injected ----------------------------

const HEAD = 'c'.repeat(40);
const RECORDED = 'a'.repeat(40);
const MAIN_BASE = 'b'.repeat(40);

interface FakeOptions {
  commits?: Record<string, string>;
  mergeBase?: string;
  failExec?: (command: string, args: string[], cwd: string) => boolean;
  failChild?: boolean;
}

/** A fake world: git knows `commits` (ref -> sha), worktree add makes a tree with a cli.js. */
function fakeDeps(o: FakeOptions = {}) {
  const calls = { git: [] as string[][], exec: [] as { command: string; args: string[]; cwd: string }[], children: [] as { side: string; args: string[]; slow: string | undefined; root: string }[], log: [] as string[] };
  const commits = o.commits ?? { HEAD, [RECORDED.slice(0, 12)]: RECORDED, main: HEAD };
  let clock = 0;
  const template = load('two-cpus-cooperlake.json');
  const deps: GuardDeps = {
    git(args) {
      calls.git.push(args);
      if (args[0] === 'rev-parse' && args[1] === 'HEAD') return HEAD;
      if (args[0] === 'rev-parse') {
        const ref = args.at(-1)!.replace(/\^\{commit\}$/, '');
        if (commits[ref]) return commits[ref];
        throw new Error(`fatal: bad revision ${ref}`);
      }
      if (args[0] === 'merge-base') return o.mergeBase ?? MAIN_BASE;
      if (args[0] === 'worktree' && args[1] === 'add') {
        const dir = args[3];
        mkdirSync(join(dir, 'dist', 'src'), { recursive: true });
        writeFileSync(join(dir, 'dist', 'src', 'cli.js'), '');
        return '';
      }
      if (args[0] === 'worktree') return '';
      throw new Error(`unexpected git ${args.join(' ')}`);
    },
    exec(command, args, cwd) {
      calls.exec.push({ command, args, cwd });
      if (o.failExec?.(command, args, cwd)) throw new Error(`${command} ${args.join(' ')} failed with exit 1:\nerror: boom`);
    },
    runChild(side: Side, args: string[]) {
      calls.children.push({ side: side.name, args, slow: side.env.PFC_SLOW_PHASE, root: side.root });
      if (o.failChild && calls.children.length === 2) throw new Error('child crashed');
      const r = clone(template);
      r.context.tool.gitRevision = side.revision.slice(0, 12);
      return r;
    },
    log: (line) => void calls.log.push(line),
    now: () => (clock += 1000),
  };
  return { deps, calls };
}

/** A candidate checkout holding only what the guard reads: the committed baseline. */
function fakeRoot(recorded = `${RECORDED.slice(0, 12)}`): string {
  const root = mkdtempSync(join(tmpdir(), 'pfc-guard-test-'));
  mkdirSync(join(root, 'bench', 'baselines'), { recursive: true });
  const committed = load('two-cpus-cooperlake.json');
  committed.context.tool.gitRevision = recorded;
  writeFileSync(join(root, 'bench', 'baselines', 'ci.json'), JSON.stringify(committed));
  mkdirSync(join(root, 'node_modules'));
  return root;
}

const args = (o: Partial<GuardArgs> = {}): GuardArgs => ({ rounds: 3, cache: true, outDir: 'out', all: false, ...o });

test('guard: baseline revision = the recorded one when clean; the merge base when dirty or unknown; --baseline-rev wins', () => {
  const { deps } = fakeDeps({ commits: { HEAD, abc123: RECORDED, 'origin/main': 'd'.repeat(40), v1: 'e'.repeat(40) } });
  assert.deepEqual(resolveBaselineRev('abc123', undefined, deps.git), { rev: RECORDED, how: 'the revision bench/baselines/ci.json was recorded at (abc123)' });
  const dirty = resolveBaselineRev('abc123-dirty', undefined, deps.git);
  assert.equal(dirty.rev, MAIN_BASE);
  assert.match(dirty.how, /recorded at abc123-dirty \(uncommitted changes on top of abc123\); using the merge base of HEAD and origin\/main/);
  const gone = resolveBaselineRev('fff999', undefined, deps.git);
  assert.equal(gone.rev, MAIN_BASE);
  assert.match(gone.how, /recorded at fff999, which is not in this repository; using the merge base/);
  assert.match(resolveBaselineRev(undefined, undefined, deps.git).how, /records no revision/);
  assert.deepEqual(resolveBaselineRev('abc123', 'v1', deps.git), { rev: 'e'.repeat(40), how: '--baseline-rev v1' });
  assert.throws(() => resolveBaselineRev('abc123', 'nope', deps.git), (e: Error) => e instanceof UsageError && /--baseline-rev: 'nope' is not a commit/.test(e.message));
  const lonely = fakeDeps({ commits: { HEAD } }).deps;
  assert.throws(() => resolveBaselineRev('abc123-dirty', undefined, lonely.git), /no upstream branch .* name a revision with --baseline-rev/);
});

test('guard: interleaved A B / B A / A B, the same args on both sides, the injection on the candidate only', () => {
  assert.deepEqual(roundOrder(3), [['baseline', 'candidate'], ['candidate', 'baseline'], ['baseline', 'candidate']]);
  const root = fakeRoot();
  const { deps, calls } = fakeDeps();
  const before = process.env.PFC_SLOW_PHASE;
  process.env.PFC_SLOW_PHASE = 'update:5'; // a stray setting in the caller's environment reaches neither side
  try {
    const outcome = runGuard(args({ inject: 'gemm:1.3' }), deps, root);
    assert.deepEqual(calls.children.map((c) => c.side), ['baseline', 'candidate', 'candidate', 'baseline', 'baseline', 'candidate']);
    const expected = guardRunArgs(root);
    assert.deepEqual(expected.slice(0, 2), ['--scenario', join(root, 'bench', 'scenarios', 'ci.json')]);
    assert.ok(expected.includes('--trials') && expected.includes('--threads'));
    for (const c of calls.children) assert.deepEqual(c.args, expected);
    assert.deepEqual(calls.children.map((c) => c.slow), [undefined, 'gemm:1.3', 'gemm:1.3', undefined, undefined, 'gemm:1.3']);
    assert.ok(calls.children.filter((c) => c.side === 'baseline').every((c) => c.root === join(root, '.guard', RECORDED.slice(0, 12))));
    assert.ok(calls.children.filter((c) => c.side === 'candidate').every((c) => c.root === root));
    // Both files written, merged from 3 runs each, paired with one id.
    const base = readResults(join(root, 'out', 'guard-baseline.json'));
    const cur = readResults(join(root, 'out', 'guard-current.json'));
    assert.equal(base.cells.length, 3 * 5);
    assert.equal(base.context.pairedRun!.id, cur.context.pairedRun!.id);
    assert.deepEqual([base.context.pairedRun!.side, base.context.pairedRun!.revision, cur.context.pairedRun!.side, cur.context.pairedRun!.revision], ['baseline', RECORDED, 'candidate', HEAD]);
    assert.equal(outcome.verdict, 'ok');
    assert.equal(outcome.exitCode, 0);
    assert.equal(outcome.figures.options.figuresOnly, true);
    // The baseline build: worktree at the revision, no CUDA, then its tsc; costs printed.
    assert.deepEqual(calls.git.find((g) => g[0] === 'worktree' && g[1] === 'add'), ['worktree', 'add', '--detach', join(root, '.guard', RECORDED.slice(0, 12)), RECORDED]);
    const builds = calls.exec.filter((e) => e.cwd !== root).map((e) => e.args.join(' '));
    assert.deepEqual(builds, ['cmake-js compile --out build --CDPFC_WITH_CUDA=OFF', 'tsc -p tsconfig.json']);
    assert.ok(existsSync(join(root, '.guard', RECORDED.slice(0, 12), 'node_modules')), 'node_modules linked from the candidate');
    assert.match(calls.log.join('\n'), /guard: cost: build [\d.]+s .* measure [\d.]+s \(6 runs\)/);
    assert.match(formatGuard(outcome), /^guard: OK \(timings ok, figures ok\); cost: build [\d.]+s, measure [\d.]+s$/m);
  } finally {
    if (before === undefined) delete process.env.PFC_SLOW_PHASE;
    else process.env.PFC_SLOW_PHASE = before;
  }
  // A rerun reuses the cached build.
  const again = fakeDeps();
  runGuard(args({ rounds: 1 }), again.deps, root);
  assert.ok(!again.calls.git.some((g) => g[0] === 'worktree' && g[1] === 'add'));
  assert.deepEqual(again.calls.exec.filter((e) => e.cwd !== root), []);
  assert.ok(again.calls.log.some((l) => /reusing the build/.test(l)));
});

test('guard: a failed baseline build removes the worktree (cached or not) and fails; a failed run removes a temporary one', () => {
  for (const cache of [true, false]) {
    const root = fakeRoot();
    const { deps, calls } = fakeDeps({ failExec: (c, a) => a[0] === 'tsc' });
    assert.throws(() => runGuard(args({ cache }), deps, root), /tsc -p tsconfig.json failed/);
    const added = calls.git.find((g) => g[0] === 'worktree' && g[1] === 'add')![3];
    assert.ok(calls.git.some((g) => g[0] === 'worktree' && g[1] === 'remove' && g.at(-1) === added), `worktree removed (cache ${cache})`);
    assert.equal(existsSync(added), false);
    assert.ok(!existsSync(join(root, '.guard', `${RECORDED.slice(0, 12)}.built`)), 'no build marker');
    assert.equal(calls.children.length, 0);
  }
  const root = fakeRoot();
  const { deps, calls } = fakeDeps({ failChild: true });
  assert.throws(() => runGuard(args({ cache: false }), deps, root), /child crashed/);
  const added = calls.git.find((g) => g[0] === 'worktree' && g[1] === 'add')![3];
  assert.ok(calls.git.some((g) => g[0] === 'worktree' && g[1] === 'remove' && g.at(-1) === added));
  assert.equal(existsSync(added), false);
  assert.equal(existsSync(join(root, '.guard')), false, 'a temporary worktree is not under .guard');
});

test('guard: a revision that cannot build without CUDA is built in its default configuration', () => {
  const root = fakeRoot();
  const { deps, calls } = fakeDeps({ failExec: (c, a) => a.includes('--CDPFC_WITH_CUDA=OFF') });
  runGuard(args({ rounds: 1 }), deps, root);
  assert.deepEqual(calls.exec.filter((e) => e.cwd !== root).map((e) => e.args.join(' ')), ['cmake-js compile --out build --CDPFC_WITH_CUDA=OFF', 'cmake-js compile --out build', 'tsc -p tsconfig.json']);
  assert.ok(calls.log.some((l) => /does not build with PFC_WITH_CUDA=OFF \(error: boom\); building it in its default configuration/.test(l)));
});

test('guard: a deterministic figure that moved against the committed baseline fails the guard (exit 1)', () => {
  const root = fakeRoot();
  const committedPath = join(root, 'bench', 'baselines', 'ci.json');
  const committed = JSON.parse(readFileSync(committedPath, 'utf8')) as ResultsFile;
  for (const cell of committed.cells) cell.work!.flopsPerStep -= 1; // the candidate now does one FLOP more
  writeFileSync(committedPath, JSON.stringify(committed));
  const { deps } = fakeDeps();
  const outcome = runGuard(args({ rounds: 1 }), deps, root);
  assert.equal(outcome.timing.verdict, 'ok');
  assert.equal(outcome.figures.verdict, 'regressed');
  assert.equal(outcome.verdict, 'regressed');
  assert.equal(outcome.exitCode, 1);
  assert.ok(outcome.figures.regressions.every((r) => r.metric === 'work.flopsPerStep'));
  assert.match(formatGuard(outcome), /guard: REGRESSED \(timings ok, figures regressed\)/);
});

test('guard: prepareTree keeps a cached build only after it completed', () => {
  const root = fakeRoot();
  const { deps } = fakeDeps();
  const tree = prepareTree(RECORDED, root, true, deps);
  assert.equal(tree.cached, false);
  assert.ok(existsSync(join(root, '.guard', `${RECORDED.slice(0, 12)}.built`)));
  tree.cleanup();
  assert.ok(existsSync(tree.dir), 'the cache stays');
  assert.equal(prepareTree(RECORDED, root, true, deps).cached, true);
  copyFileSync(join(root, 'bench', 'baselines', 'ci.json'), join(root, 'x.json')); // (root stays usable)
});
