/**
 * One name per case: the run table, the progress line, compare, the Markdown and CSV reports
 * and the charts all call a case without a label "20k@8" (issue 21 found 5000000, 5M@8 and
 * C5000000@8 for one case).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { caseName, countName } from '../src/bench/case-name.js';
import { parseCount } from '../src/bench/fields.js';
import { describeCell } from '../src/bench/progress.js';
import { resultsTable } from '../src/report/table.js';
import { compareResults } from '../src/compare/compare.js';
import { cellRow } from '../src/report/markdown.js';
import { cellsCsv } from '../src/report/csv.js';
import { cellName, reportCells, type LoadedResults } from '../src/report/data.js';
import { readResultsFile, type ResultsFile } from '../src/bench/results.js';
import { FIXTURE, parseCsv } from './fixtures/report-helpers.js';

/** The fixture's completed 20k@8 model-parallel cell with its label removed: a case named by its shape. */
function unlabelled(): ResultsFile {
  const file = readResultsFile(FIXTURE);
  const cell = file.cells.find((c) => c.status === 'completed' && c.spec.classes === 20000 && c.spec.ranks === 8)!;
  return { ...file, cells: [{ ...cell, spec: { ...cell.spec, label: '' } }] };
}

test('counts are written exactly, with the prefix --classes reads back', () => {
  assert.equal(countName(5_000_000), '5M');
  assert.equal(countName(20_000), '20k');
  assert.equal(countName(1_500_000), '1.5M');
  assert.equal(countName(1_234_567), '1.234567M');
  assert.equal(countName(999), '999');
  assert.equal(countName(2_000_000_000), '2G');
  for (const n of [1, 999, 1000, 1001, 20_000, 1_234_567, 62_472_704, 2 ** 31 - 1]) assert.equal(parseCount('--classes', countName(n)), n, `${n} -> ${countName(n)}`);
  assert.equal(caseName({ classes: 5_000_000, ranks: 8 }), '5M@8');
  assert.equal(caseName({ classes: 5_000_000, ranks: 8, label: 'big' }), 'big', 'a label names its case');
});

test('the run table, progress, compare, Markdown, CSV and charts name an unlabelled case the same way', () => {
  const file = unlabelled();
  const cell = file.cells[0];
  const name = '20k@8';
  assert.ok(describeCell(cell.spec).startsWith(`${name} `), describeCell(cell.spec));
  const row = resultsTable([cell]).split('\n')[1];
  assert.ok(row.startsWith(`${name} `), `run table: ${row}`);
  const comparison = compareResults(file, file);
  assert.equal(comparison.cells[0].label, name, 'compare');
  assert.equal(cellRow(cell)[0], name, 'Markdown cells table');
  const loaded: LoadedResults = { path: 'x.json', run: 'x', file };
  const csv = parseCsv(cellsCsv([loaded]));
  assert.equal(csv[1][csv[0].indexOf('case')], name, 'CSV case column');
  assert.ok(cellName(reportCells([loaded])[0], false).includes(name), 'chart bar label');
});
