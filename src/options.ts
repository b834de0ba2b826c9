/** Command-line options: --key value, --key=value and --flag (a switch: no value), checked against what a command takes. */
import { UsageError, suggest } from './core/errors.js';

export interface OptionSpec {
  /** The scenario field a run option sets, if any. */
  field?: string;
  kind: 'string' | 'number' | 'boolean';
  help: string;
  /** Parses one value (a comma list's item for `list` options); throws a UsageError naming the option. */
  parse?: (value: string, option: string) => unknown;
  /** A comma list gives several values (a sweep). */
  list?: boolean;
  /** The option may be given more than once; its value is then the array of every value, in order. */
  repeat?: boolean;
}

export type ParsedOptions = Record<string, unknown>;

/** Lines of `--name  help`, for a command's --help. */
export function optionHelp(allowed: Record<string, OptionSpec>): string {
  return Object.entries(allowed)
    .map(([name, o]) => `  --${name.padEnd(15)} ${o.list && o.field ? '* ' : ''}${o.help}`)
    .join('\n');
}

/**
 * Parses argv against `allowed`; anything unknown, repeated or missing its value is a
 * UsageError naming the option (with a suggestion and `hint`, e.g. the command's usage).
 * A `list` option's value is an array when it holds a comma; otherwise the single value.
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
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const [rawName, inline] = arg.slice(2).split(/=(.*)/s, 2);
    const spec = Object.hasOwn(allowed, rawName) ? allowed[rawName] : undefined;
    const option = `--${rawName}`;
    if (!spec) throw new UsageError(option, `unknown option for '${command}'${suggest(rawName, names).replace("'", "'--")}; ${hint}`);
    if (options[rawName] !== undefined && !spec.repeat) throw new UsageError(option, 'given twice');
    if (spec.kind === 'boolean') {
      if (inline === undefined) {
        options[rawName] = true;
        continue;
      }
      // A switch takes no value: --resume=no used to read as "resume", then as "do not resume";
      // either way a value on a switch is a mistake to point out, not to guess at.
      throw new UsageError(option, `is a switch and takes no value, got '${arg}'; give ${option} to turn it on, leave it out for off`);
    }
    const value = inline ?? argv[++i];
    if (value === undefined || value.trim() === '' || (inline === undefined && value.startsWith('--'))) {
      throw new UsageError(option, `expected a value (${spec.help})`);
    }
    const one = (text: string): unknown => {
      if (spec.parse) return spec.parse(text, option);
      if (spec.kind === 'number') {
        const n = Number(text);
        if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(option, `expected a number, got '${text}'`);
        return n;
      }
      return text;
    };
    if (spec.repeat) {
      options[rawName] = [...((options[rawName] as unknown[] | undefined) ?? []), one(value)];
    } else if (spec.list && value.includes(',')) {
      const items = value.split(',').map((s) => s.trim());
      if (items.some((s) => s === '')) throw new UsageError(option, `expected a comma list without empty items, got '${value}'`);
      options[rawName] = items.map(one);
    } else {
      options[rawName] = one(value);
    }
  }
  return { options, positionals };
}
