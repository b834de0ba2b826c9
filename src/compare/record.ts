#!/usr/bin/env node
/**
 * Records a comparison input: runs a scenario several times, each run its own `pfc-bench run`
 * (each cell its own child process), and writes one results file holding every run's cells
 * (the same cell id once per run). compare pools the trials of repeated cells, so a run that
 * was unlucky as a whole (another job on the machine) is one run among several, not the
 * baseline. Used by `npm run baseline:ci` (refreshes bench/baselines/ci.json on purpose) and
 * by .ci/run (the current side of the check).
 *
 *   node dist/src/compare/record.js PRESET OUT.json
 *   node dist/src/compare/record.js --runs N OUT.json -- RUN-OPTIONS...
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeResultsAtomically } from '../bench/sweep.js';
import type { ResultsFile } from '../bench/results.js';
import { readResults } from './compare.js';

/**
 * ci: one thread, so that the timings do not hinge on two OpenMP threads being scheduled
 * together on a shared two-core machine (a descheduled thread stalls the other at every
 * barrier); 10 steps x 7 trials per cell, 3 runs: about half a minute on two cores.
 */
export const PRESETS: Record<string, { runs: number; args: string[] }> = {
  ci: { runs: 3, args: ['--scenario', 'ci', '--threads', '1', '--steps', '10', '--trials', '7'] },
};

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli.js');

export function mergeRuns(runs: ResultsFile[]): ResultsFile {
  const first = runs[0];
  return {
    ...first,
    scenario: { ...first.scenario, overrides: { ...first.scenario.overrides, recordedRuns: runs.length } },
    cells: runs.flatMap((r) => r.cells),
  };
}

export function record(runs: number, runArgs: string[], out: string, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): { results: ResultsFile; failedCells: number } {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-record-'));
  try {
    const files: ResultsFile[] = [];
    for (let i = 0; i < runs; i++) {
      const path = join(dir, `run-${i}.json`);
      const started = Date.now();
      const child = spawnSync(process.execPath, [cli, 'run', ...runArgs, '--out', path, '--no-report', '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
      if (child.error) throw child.error;
      const results = readResults(path);
      files.push(results);
      const failed = results.cells.filter((c) => c.status !== 'completed').length;
      log(`record: run ${i + 1}/${runs}: ${results.cells.length} cell(s)${failed ? `, ${failed} not completed` : ''} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    }
    const results = mergeRuns(files);
    writeResultsAtomically(out, results);
    log(`record: ${out} (${results.cells.length} cells from ${runs} runs)`);
    return { results, failedCells: results.cells.filter((c) => c.status !== 'completed').length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(argv: string[]): number {
  const usage = 'usage: record.js PRESET OUT.json | record.js --runs N OUT.json -- RUN-OPTIONS...';
  const dash = argv.indexOf('--');
  const head = dash >= 0 ? argv.slice(0, dash) : argv;
  const tail = dash >= 0 ? argv.slice(dash + 1) : [];
  let runs: number;
  let args: string[];
  let out: string | undefined;
  if (head[0] === '--runs') {
    runs = Number(head[1]);
    out = head[2];
    args = tail;
    if (!Number.isInteger(runs) || runs < 1 || !out || head.length !== 3) throw new Error(usage);
  } else {
    const preset = PRESETS[head[0]];
    if (!preset || head.length !== 2) throw new Error(`${usage} (presets: ${Object.keys(PRESETS).join(', ')})`);
    ({ runs, args } = preset);
    out = head[1];
    args = [...args, ...tail];
  }
  const { failedCells } = record(runs, args, out);
  if (failedCells) process.stderr.write(`record: ${failedCells} cell(s) did not complete\n`);
  return failedCells ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`record: ${(error as Error).message}\n`);
    process.exitCode = 2;
  }
}
