/** Command-line options: --key value, --key=value and --flag, checked against what a command takes. */
import { UsageError, suggest } from './core/errors.js';

export interface OptionSpec {
  /** The scenario field a run option sets, if any. */
  field?: string;
  kind: 'string' | 'number' | 'boolean';
  help: string;
}

export type ParsedOptions = Record<string, string | number | boolean>;

/**
 * Parses argv against `allowed`; anything unknown, repeated or missing its value is a
 * UsageError naming the option (with a suggestion and `hint`, e.g. the command's usage).
 */
export function parseOptions(
  argv: readonly string[],
  allowed: Record<string, OptionSpec>,
  command: string,
  hint = "see 'pfc-bench help'",
): { options: ParsedOptions; positionals: string[] } {
  const options: ParsedOptions = {};
  const positionals: string[] = [];
  const names = Object.keys(allowed);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const [rawName, inline] = arg.slice(2).split(/=(.*)/s, 2);
    const spec = allowed[rawName];
    if (!spec) throw new UsageError(`--${rawName}`, `unknown option for '${command}'${suggest(rawName, names).replace("'", "'--")}; ${hint}`);
    if (options[rawName] !== undefined) throw new UsageError(`--${rawName}`, 'given twice');
    if (spec.kind === 'boolean') {
      options[rawName] = inline === undefined ? true : inline !== 'false';
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || value === '' || (inline === undefined && value.startsWith('--'))) {
      throw new UsageError(`--${rawName}`, `expected a value (${spec.help})`);
    }
    if (spec.kind === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${rawName}`, `expected a number, got '${value}'`);
      options[rawName] = n;
    } else {
      options[rawName] = value;
    }
  }
  return { options, positionals };
}
