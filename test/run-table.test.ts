/** The run table flags a step faster than its own GEMM floor (issue 21: 0.82 printed without a word). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress } from '../src/bench/progress.js';
import { BELOW_FLOOR_NOTE, resultsTable } from '../src/report/table.js';
import { readResultsFile } from '../src/bench/results.js';
import { FIXTURE } from './fixtures/report-helpers.js';

const cell = readResultsFile(FIXTURE).cells.find((c) => c.status === 'completed' && c.reference)!;

test('x GEMMs under 1 is marked and explained; 1 or more is not', () => {
  const below = { ...cell, reference: { ...cell.reference!, stepOverGemm: 0.82 } };
  const table = resultsTable([below]);
  const row = table.split('\n')[1].trim().split(/\s{2,}/);
  assert.equal(row[10], '0.82!', table);
  assert.ok(table.endsWith(BELOW_FLOOR_NOTE), table);
  assert.match(BELOW_FLOOR_NOTE, /faster than its own three GEMMs/);
  const fine = resultsTable([{ ...cell, reference: { ...cell.reference!, stepOverGemm: 1.0 } }]);
  assert.ok(!fine.includes('!'), fine);
});

test('the progress line warns as the cell finishes', () => {
  const written: string[] = [];
  const stream = { isTTY: false, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
  const progress = new Progress(stream);
  progress.begin(1);
  progress.cellStart(0, cell.spec);
  progress.cellDone(0, cell.spec, { ...cell, reference: { ...cell.reference!, stepOverGemm: 0.82 } }, false);
  assert.match(written.join(''), /warning: x GEMMs 0\.82, faster than its own GEMM floor/);
});
