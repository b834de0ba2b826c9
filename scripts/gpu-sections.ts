/**
 * The GPU check's sections, each in its own process: a kernel fault (an illegal address) is
 * sticky for the CUDA context of the process that hit it, so in one process every later section
 * would only report "threw". A section's process writes its checks to a file; a process that
 * dies or hangs before writing them is one failed check naming the section, and the next
 * section starts in a fresh process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Check {
  name: string;
  ok: boolean;
  maxRelError: number;
  tolerance: number;
  note?: string;
}

/** How a section's process ended; `checksFile` holds its checks when it got that far. */
export interface SectionExit {
  status: number | null;
  signal: string | null;
  timedOut: boolean;
}

export type SectionRunner = (section: string, checksFile: string) => SectionExit;

export function runSections(sections: readonly string[], dir: string, runSection: SectionRunner, timeoutSeconds: number): Check[] {
  const checks: Check[] = [];
  sections.forEach((section, i) => {
    const file = join(dir, `section-${i}.json`);
    const exit = runSection(section, file);
    if (existsSync(file)) {
      checks.push(...(JSON.parse(readFileSync(file, 'utf8')) as Check[]));
      return;
    }
    const how = exit.timedOut
      ? `was killed after ${timeoutSeconds} s (a hang: a collective or kernel that never finished)`
      : exit.signal
        ? `was killed by ${exit.signal}`
        : `exited with ${exit.status}`;
    const failure: Check = { name: section, ok: false, maxRelError: 1, tolerance: 0, note: `the section's process ${how} before writing its checks` };
    process.stdout.write(`FAIL ${section}: ${failure.note}\n`);
    checks.push(failure);
  });
  return checks;
}
