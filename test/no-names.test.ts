/**
 * The descriptor is the only place that knows a strategy: outside the strategy files, the
 * registry, the descriptor's default baseline and the field defaults, no source file (src/,
 * scripts/) holds a strategy's name as a string, so nothing can branch on one (issue 19: lazy-dense
 * was allocated only when name === 'partial-fc', the report's ratios only for 'partial-fc').
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { strategyDescriptors } from '../src/strategies/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Files allowed to name strategies: each strategy's own file, the registry, the descriptor (the default baseline), the field table (the default strategy). */
const ALLOWED = new Set(['src/strategies/data-parallel.ts', 'src/strategies/model-parallel.ts', 'src/strategies/partial-fc.ts', 'src/strategies/registry.ts', 'src/strategies/descriptor.ts', 'src/bench/fields.ts']);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Each string literal ('...', "...", `...` without substitutions) that is exactly a strategy name, with its line. */
export function namedStrategies(text: string, names: readonly string[]): { line: number; name: string }[] {
  const found: { line: number; name: string }[] = [];
  text.split('\n').forEach((line, i) => {
    for (const match of line.matchAll(/(['"`])([A-Za-z0-9_-]+)\1/g)) {
      if (names.includes(match[2])) found.push({ line: i + 1, name: match[2] });
    }
  });
  return found;
}

test('the scanner finds a strategy name compared as a string (so the test below can fail)', () => {
  const names = strategyDescriptors().map((d) => d.name);
  assert.deepEqual(namedStrategies("const x = 1;\n    if (config.update === 'lazy-dense' && name === 'partial-fc') {", names), [{ line: 2, name: 'partial-fc' }]);
  assert.deepEqual(namedStrategies('c.spec.strategy === "model-parallel" || s === `data-parallel`', names).map((f) => f.name), ['model-parallel', 'data-parallel']);
  assert.deepEqual(namedStrategies("label: `partial-fc ${rate}`, other: 'partial-fc-2'", names), [], 'a name inside a longer string is a label, not a branch');
});

test('no source file outside the strategy files, the registry and the field defaults names a strategy', () => {
  const names = strategyDescriptors().map((d) => d.name);
  const offenders: string[] = [];
  let scanned = 0;
  for (const file of [...sources(join(root, 'src')), ...sources(join(root, 'scripts'))]) {
    const rel = relative(root, file);
    scanned++;
    const found = namedStrategies(readFileSync(file, 'utf8'), names);
    if (rel === 'src/bench/fields.ts') {
      // The default --strategy only.
      const lines = readFileSync(file, 'utf8').split('\n');
      for (const f of found) if (!/^\s*field\('strategy',/.test(lines[f.line - 1])) offenders.push(`${rel}:${f.line} '${f.name}'`);
      continue;
    }
    if (ALLOWED.has(rel)) continue;
    for (const f of found) offenders.push(`${rel}:${f.line} '${f.name}'`);
  }
  assert.ok(scanned > 50, `scanned ${scanned} files`);
  assert.deepEqual(offenders, [], 'strategy names outside the descriptors: branch on a descriptor field instead');
});
