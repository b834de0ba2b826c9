/**
 * Fits the prediction's parameters from the committed anchor data and writes them:
 *   node dist/scripts/fit-predict.js [--check]
 * writes bench/predict/fitted.json (src/predict/fit.ts says how each is fitted) and prints the
 * PartialFC_V2 rows, predicted against measured, fitted or held out. --check writes nothing and
 * exits 1 when the committed file differs from the fit.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fitAll, pytorchErrors } from '../src/predict/fit.js';
import { fittedParametersPath } from '../src/predict/kernels.js';

const fitted = fitAll();
const text = `${JSON.stringify(fitted, null, 1)}\n`;
const path = fittedParametersPath();
if (process.argv.includes('--check')) {
  const same = readFileSync(path, 'utf8') === text;
  process.stdout.write(same ? `${path}: up to date\n` : `${path}: differs from the fit; run node dist/scripts/fit-predict.js\n`);
  process.exitCode = same ? 0 : 1;
} else {
  writeFileSync(path, text);
  process.stdout.write(`wrote ${path}\n`);
}
const pct = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(7);
for (const e of pytorchErrors(fitted)) {
  process.stdout.write(`${e.row.padEnd(28)} ${e.fitted ? 'fitted' : 'held out'}  ms ${e.measuredMs.toFixed(1)} -> ${e.predictedMs.toFixed(1)} ${pct(e.timeError)}  MB ${(e.measuredBytes / 1e6).toFixed(0)} -> ${(e.predictedBytes / 1e6).toFixed(0)} ${pct(e.memoryError)}\n`);
}
