/** Renders the report of one or more results files; `pfc-bench run` calls it at its end. */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseResultsFile } from '../bench/results.js';
import { markdownSummary } from './markdown.js';

export async function renderReportFor(resultPaths: string[]): Promise<string[]> {
  const files = resultPaths.map((p) => parseResultsFile(readFileSync(p, 'utf8'), p));
  const out = resultPaths[0].replace(/\.json$/, '') + '.md';
  writeFileSync(out, markdownSummary(files));
  return [out];
}
