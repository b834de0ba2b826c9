/** Errors of pfc-bench. Every error a user can cause names the option and what was expected. */

/** A bad option or input: the message names the option and the allowed values. */
export class UsageError extends Error {
  readonly code = 'PFC_USAGE';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`);
    this.name = 'UsageError';
  }
}

/** Codes the native core sets on the errors it throws. */
export type NativeErrorCode = 'PFC_INVALID' | 'PFC_OOM' | 'PFC_BACKEND' | 'PFC_COMM' | 'PFC_UNAVAILABLE' | 'PFC_ERROR';

export function nativeErrorCode(error: unknown): NativeErrorCode | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('PFC_') ? (code as NativeErrorCode) : undefined;
}

export function isOutOfMemory(error: unknown): boolean {
  return nativeErrorCode(error) === 'PFC_OOM';
}

/** Levenshtein distance, to suggest the option a user probably meant. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

/** "did you mean ...?" for a misspelled name among the allowed ones, or '' when none is close. */
export function suggest(name: string, allowed: readonly string[]): string {
  let best = '';
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean '${best}'?)` : '';
}
