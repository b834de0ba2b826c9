/**
 * docs/options.md is `pfc-bench help --markdown`, committed: it must equal what the command
 * generates now, so a new or changed option that was not regenerated fails here. It lists every
 * option of every command's table (the field table's flags and scenario-only keys included).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REGENERATE, optionsMarkdown } from '../src/options-reference.js';
import { CELL_FIELDS } from '../src/bench/fields.js';
import { RUN_OPTIONS } from '../src/run-args.js';
import { REPORT_OPTIONS } from '../src/report/command.js';
import { COMPARE_OPTIONS } from '../src/compare/command.js';
import { CALIBRATE_OPTIONS } from '../src/calibrate/command.js';
import { FIDELITY_OPTIONS } from '../src/calibrate/fidelity.js';
import { INFO_OPTIONS } from '../src/info.js';
import { PLAN_OPTIONS } from '../src/predict/plan.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const committed = join(root, 'docs', 'options.md');

function pfc(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, cwd: tmpdir() });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('docs/options.md is what pfc-bench help --markdown generates now', async () => {
  const generated = await optionsMarkdown();
  const text = readFileSync(committed, 'utf8');
  if (text !== generated) {
    const a = text.split('\n');
    const b = generated.split('\n');
    const line = a.findIndex((l, i) => l !== b[i]);
    assert.fail(
      `docs/options.md is not what \`pfc-bench help --markdown\` generates now; regenerate it with \`${REGENERATE}\` and commit it.\n` +
        `first difference at line ${line + 1}:\n  committed: ${a[line] ?? '(end of file)'}\n  generated: ${b[line] ?? '(end of file)'}`,
    );
  }
});

test('help --markdown prints the reference, --out writes the same; a stray --out or argument is refused', async () => {
  const generated = await optionsMarkdown();
  const printed = pfc('help', '--markdown');
  assert.equal(printed.code, 0, printed.err);
  assert.equal(printed.out, generated);
  const out = join(mkdtempSync(join(tmpdir(), 'pfc-options-')), 'sub', 'options.md');
  const written = pfc('help', '--markdown', '--out', out);
  assert.equal(written.code, 0, written.err);
  assert.equal(readFileSync(out, 'utf8'), generated);
  assert.match(written.out, /options reference: .*options\.md/);
  const stray = pfc('help', '--out', out);
  assert.equal(stray.code, 2);
  assert.match(stray.err, /--out: only means something with --markdown/);
  const junk = pfc('help', 'junk');
  assert.equal(junk.code, 2);
  assert.match(junk.err, /help: unexpected argument 'junk'/);
  const plain = pfc('help');
  assert.equal(plain.code, 0, plain.err);
  assert.match(plain.out, /^pfc-bench: /);
  assert.match(plain.out, /--gpus-per-node/);
});

test('the reference lists every option of every command, and every field of the field table', async () => {
  const text = await optionsMarkdown();
  for (const f of CELL_FIELDS) {
    if (f.flag) assert.match(text, new RegExp(`^\\| \`--${f.flag}\` \\| \`${f.key}\` \\|`, 'm'), `--${f.flag} has its row`);
    else assert.ok(text.includes(`\`${f.key}\``), `scenario-only key ${f.key} is named`);
  }
  for (const name of ['threads', 'gpus-per-node', 'lr', 'momentum', 'weight-decay', 'label', 'quiet', 'no-report']) {
    assert.ok(text.includes(`| \`--${name}\` |`), `--${name} is listed`);
  }
  const tables = { run: RUN_OPTIONS, plan: PLAN_OPTIONS, report: REPORT_OPTIONS, compare: COMPARE_OPTIONS, calibrate: CALIBRATE_OPTIONS, fidelity: FIDELITY_OPTIONS, info: INFO_OPTIONS };
  for (const [command, options] of Object.entries(tables)) {
    const heading = command === 'run' ? '## run and capacity' : `## ${command}`;
    const start = text.indexOf(`\n${heading}\n`);
    assert.ok(start >= 0, `section ${heading}`);
    const end = text.indexOf('\n## ', start + 1);
    const section = text.slice(start, end < 0 ? undefined : end);
    for (const name of Object.keys(options)) assert.ok(section.includes(`| \`--${name}\` |`), `${command}: --${name} is listed in its section`);
  }
});
