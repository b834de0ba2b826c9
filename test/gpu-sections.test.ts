/**
 * The GPU check's sections run each in its own process (scripts/gpu-sections.ts): the checks a
 * section's process wrote are kept, and a process that died or hung before writing them is one
 * failed check naming its section, after which the next section still runs. The child runner
 * is a stand-in here (what it would have written, or how it ended); on a GPU it is spawnSync.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSections, type Check, type SectionExit } from '../scripts/gpu-sections.js';

test('a section that faults or hangs fails alone; the sections after it still run and keep their checks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-sections-'));
  const ran: string[] = [];
  const ok = (name: string): Check => ({ name, ok: true, maxRelError: 0, tolerance: 1e-5 });
  const outcomes: Record<string, (file: string) => SectionExit> = {
    first: (file) => (writeFileSync(file, JSON.stringify([ok('first a'), ok('first b')])), { status: 0, signal: null, timedOut: false }),
    faulted: () => ({ status: null, signal: 'SIGSEGV', timedOut: false }),
    hung: () => ({ status: null, signal: 'SIGKILL', timedOut: true }),
    exited: () => ({ status: 7, signal: null, timedOut: false }),
    last: (file) => (writeFileSync(file, JSON.stringify([{ ...ok('last'), ok: false, maxRelError: 0.5 }])), { status: 0, signal: null, timedOut: false }),
  };
  try {
    const checks = runSections(Object.keys(outcomes), dir, (name, file) => {
      ran.push(name);
      return outcomes[name](file);
    }, 150);
    assert.deepEqual(ran, ['first', 'faulted', 'hung', 'exited', 'last'], 'every section ran, in order');
    assert.deepEqual(checks.map((c) => [c.name, c.ok]), [['first a', true], ['first b', true], ['faulted', false], ['hung', false], ['exited', false], ['last', false]]);
    assert.match(checks[2].note!, /killed by SIGSEGV before writing its checks/);
    assert.match(checks[3].note!, /killed after 150 s \(a hang/);
    assert.match(checks[4].note!, /exited with 7 before writing its checks/);
    assert.equal(checks[5].maxRelError, 0.5, "a section's own failed check is kept as it wrote it");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
