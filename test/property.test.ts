/**
 * Property tests of the command line and the scenario parser (fast-check, fixed seed, bounded
 * runs): for generated argument vectors and scenario objects, the parser either returns valid
 * cells or throws a UsageError that names an option or field. Anything else (a TypeError, a
 * RangeError, a cell that violates the rules the core relies on) is a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { planRun } from '../src/run-args.js';
import { expandScenario, parseScenario } from '../src/bench/scenario.js';
import { CELL_FIELDS, FIELD_NAMES } from '../src/bench/fields.js';
import { UsageError } from '../src/core/errors.js';
import { STRATEGY_NAMES, strategyOf } from '../src/strategies/index.js';
import type { CellSpec } from '../src/bench/results.js';

const SEED = 20261129;
const FLAGS = CELL_FIELDS.filter((f) => f.flag).map((f) => `--${f.flag!}`);
const RUN_FLAGS = ['--out', '--resume', '--keep', '--cell-timeout', '--quiet', '--no-report'];

/** A cell the core can run: the invariants resolveCell promises. */
function checkCell(spec: CellSpec): void {
  assert.ok(STRATEGY_NAMES.includes(spec.strategy), spec.strategy);
  for (const key of ['classes', 'ranks', 'batch', 'dim', 'steps', 'trials'] as const) {
    assert.ok(Number.isInteger(spec[key]) && spec[key] >= 1, `${key} = ${spec[key]}`);
  }
  assert.ok(spec.classes >= spec.ranks && spec.classes <= 2 ** 31 - 1);
  assert.equal(spec.batch % spec.ranks, 0);
  assert.ok(spec.sampleRate > 0 && spec.sampleRate <= 1);
  if (!strategyOf(spec.strategy).samples) assert.equal(spec.sampleRate, 1);
  assert.ok(Number.isInteger(spec.rank) && spec.rank >= 0 && spec.rank < spec.ranks);
  assert.ok(Number.isInteger(spec.memoryBudget) && spec.memoryBudget >= 0);
  if (spec.mode === 'single') assert.equal(spec.ranks, 1);
  for (const v of Object.values(spec.margin)) assert.ok(Number.isFinite(v));
}

/** A UsageError naming an option (--flag), a field or the command; anything else is rethrown. */
function expectUsage(error: unknown): void {
  if (!(error instanceof UsageError)) throw error;
  assert.ok(error.option.length > 0, 'the error names an option');
  assert.match(error.message, /^\S.*: \S/, error.message);
}

const value = fc.oneof(
  fc.constantFrom('1', '0', '-1', '8', '16', '1000', '1M', '1.5', '1.5M', '0.1', '1e3', 'nan', 'Infinity', '', ' ', ',', '1,2', '2,4,8', 'model-parallel', 'partial-fc,model-parallel', 'cosface', '64,1,0,0.4', 'cpu', 'cuda', 'emulate', 'single', 'real', '11GiB', '64MiB', 'true', 'no', 'oom', '../x'),
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -5, max: 5000 }).map(String),
);

const argument = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...FLAGS), value).map(([f, v]) => [f, v]) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...FLAGS), value).map(([f, v]) => [`${f}=${v}`]) },
  { weight: 1, arbitrary: fc.constantFrom(...RUN_FLAGS).map((f) => [f]) },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }).map((s) => [s]) },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }).map((s) => [`--${s}`]) },
);

test('generated run/capacity command lines: valid cells or a usage error naming an option', () => {
  // The defaults are 1M classes on 8 GPUs: small sizes keep generated sweeps cheap to expand.
  const base = ['--classes', '1000', '--gpus', '4', '--batch', '16', '--dim', '8'];
  let validCells = 0;
  fc.assert(
    fc.property(fc.array(argument, { maxLength: 6 }), fc.boolean(), (parts, capacity) => {
      // The base flags only where the generated ones do not set them (given twice is its own test, below).
      const cleaned: string[] = [];
      for (let i = 0; i < base.length; i += 2) if (!parts.some((p) => p[0].split('=')[0] === base[i])) cleaned.push(base[i], base[i + 1]);
      try {
        const plan = planRun(capacity ? 'capacity' : 'run', [...cleaned, ...parts.flat()]);
        if (plan) for (const spec of plan.specs) checkCell(spec);
        validCells += plan?.specs.length ?? 0;
      } catch (error) {
        expectUsage(error);
      }
    }),
    { seed: SEED, numRuns: 400 },
  );
  // Not every generated line may be refused: then checkCell would never have run.
  assert.ok(validCells > 0, 'some generated command lines give cells');
});

const fieldValue = fc.oneof(
  fc.constantFrom(null, true, false, 0, 1, 2, 4, 8, -1, 0.5, 1.5, 1e9, 2 ** 31, NaN, '1k', '1M', 'model-parallel', 'partial-fc', 'data-parallel', 'cosface', 'emulate', 'single', 'cpu', 'sparse', 'dense', '64MiB', [], {}, { s: 64, m1: 1, m2: 0, m3: 0.4 }),
  fc.string({ maxLength: 8 }),
  fc.integer({ min: -10, max: 100000 }),
);
const fieldName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FIELD_NAMES) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) });
// Empty cells and defaults (the small defaults below make them valid) and one-field ones, so that
// some scenarios pass and their cells are checked, not only refused.
const cell = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(fieldName, fieldValue, { maxKeys: 4 }) },
  { weight: 3, arbitrary: fc.dictionary(fieldName, fieldValue, { maxKeys: 1 }) },
  { weight: 2, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.constantFrom(null, 1, 'x', [] as unknown[]) },
);
const scenario = fc.record(
  {
    // Mostly a valid name: the other fields' checks come after it.
    name: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('ok', 'a.b-c_1') }, fc.constantFrom('../x', '', '.h', 'a/b'), fc.string({ maxLength: 8 }), fc.constant(7)),
    description: fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength: 8 }) }, fc.constant(3)),
    defaults: fc.oneof(fc.dictionary(fieldName, fieldValue, { maxKeys: 4 }), fc.constant({}), fc.constant(null)),
    cells: fc.oneof({ weight: 4, arbitrary: fc.array(cell, { maxLength: 3 }) }, fc.constant(null), fc.constant('x')),
    matrix: fc.oneof({ weight: 3, arbitrary: fc.dictionary(fieldName, fc.oneof(fc.array(fieldValue, { maxLength: 3 }), fieldValue), { maxKeys: 3 }) }, fc.constant(null)),
  },
  { requiredKeys: ['name'] },
);

test('generated scenario objects: valid cells or a usage error naming a field', () => {
  let validCells = 0;
  fc.assert(
    fc.property(scenario, (data) => {
      try {
        // Small defaults so that valid scenarios expand to cheap cells.
        const parsed = parseScenario(data);
        for (const spec of expandScenario({ ...parsed, defaults: { classes: 1000, gpus: 4, batch: 16, dim: 8, ...parsed.defaults } })) {
          checkCell(spec);
          validCells++;
        }
      } catch (error) {
        expectUsage(error);
      }
    }),
    { seed: SEED, numRuns: 400 },
  );
  assert.ok(validCells > 0, 'some generated scenarios give cells');
});

test('an option given twice, or a value missing, is a usage error naming it', () => {
  for (const f of CELL_FIELDS.filter((x) => x.flag)) {
    const flag = `--${f.flag!}`;
    // A free string where the default is empty; --target names a GPU, so one that exists; --baseline's
    // '' stands for the descriptor's, so a value it takes is a strategy's name.
    const valid = f.key === 'target' ? 'h200' : f.key === 'baseline' ? STRATEGY_NAMES[0] : f.default === '' || f.default === undefined ? 'x' : String(f.default);
    assert.throws(() => planRun('run', [flag, valid, flag, valid]), (e: unknown) => e instanceof UsageError && e.option === flag && /given twice/.test(e.message));
    assert.throws(() => planRun('run', [flag]), (e: unknown) => e instanceof UsageError && e.option === flag && /expected a value/.test(e.message));
  }
});
