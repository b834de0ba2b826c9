/**
 * `pfc-bench strategies [--strategy-module M ...] [--json]`: every registered strategy, built in
 * or loaded from a strategy module, with its capabilities, baseline and origin. A module that
 * fails to load is an error naming it (exit 2): this is where a module's author checks it.
 */
import { UsageError } from '../core/errors.js';
import { parseOptions, type OptionSpec } from '../options.js';
import { baselineOf } from './descriptor.js';
import { isBuiltInStrategy, strategyDescriptors } from './registry.js';
import { loadStrategyModules, moduleOfStrategy, STRATEGY_API_VERSION } from './modules.js';

export const STRATEGIES_USAGE = 'pfc-bench strategies [--strategy-module PATH|PACKAGE ...] [--json] (every strategy, built in or loaded, with its capabilities)';

export const STRATEGIES_OPTIONS: Record<string, OptionSpec> = {
  'strategy-module': { kind: 'string', repeat: true, help: 'load this strategy module first (checked as run loads it); repeatable' },
  json: { kind: 'boolean', help: 'print JSON' },
};

export interface StrategyListing {
  name: string;
  origin: string;
  summary: string;
  samples: boolean;
  updates: string[];
  logits: string[];
  lazyDenseClock: string;
  baseline: string | null;
  examples: number;
  module?: { path: string; package: string; version: string; sha256: string };
}

export function strategyListing(): StrategyListing[] {
  return strategyDescriptors().map((d) => {
    const m = moduleOfStrategy(d.name);
    return {
      name: d.name,
      origin: isBuiltInStrategy(d.name) ? 'built-in' : (m?.path ?? 'registered in-process'),
      summary: d.summary,
      samples: d.samples,
      updates: [...d.updates],
      logits: [...d.logits],
      lazyDenseClock: d.lazyDenseClock,
      baseline: baselineOf(d),
      examples: d.examples.length,
      ...(m ? { module: { path: m.path, package: m.package, version: m.version, sha256: m.sha256 } } : {}),
    };
  });
}

export async function strategiesCommand(argv: readonly string[]): Promise<number> {
  const { options, positionals } = parseOptions(argv, STRATEGIES_OPTIONS, 'strategies', `usage: ${STRATEGIES_USAGE}`);
  if (positionals.length) throw new UsageError('strategies', `unexpected argument '${positionals[0]}'; usage: ${STRATEGIES_USAGE}`);
  // Here a module that fails is the answer: an error naming it (exit 2).
  await loadStrategyModules((options['strategy-module'] as string[] | undefined) ?? []);
  const list = strategyListing();
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify({ apiVersion: STRATEGY_API_VERSION, strategies: list }, null, 1)}\n`);
    return 0;
  }
  const lines = [`strategy API version ${STRATEGY_API_VERSION}`];
  for (const s of list) {
    lines.push(`${s.name}  (${s.module ? `${s.module.path}${s.module.package ? `, ${s.module.package}@${s.module.version}` : ''}, sha256 ${s.module.sha256.slice(0, 12)}` : s.origin})`);
    lines.push(`    ${s.summary}`);
    lines.push(`    samples: ${s.samples ? 'yes (--sample-rate)' : 'no'}; --update: ${s.updates.join(', ')}; --logits: ${s.logits.join(', ')}; lazy-dense clock: ${s.lazyDenseClock}; ratios over: ${s.baseline ?? 'none'}; examples: ${s.examples}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
