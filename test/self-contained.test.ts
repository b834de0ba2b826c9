/**
 * The repository is self-contained: no tracked file points outside it, to the `shared` folder
 * beside the checkout that the project's sessions had (its design notes, published figures and
 * device notes). A user's clone has none of it; docs/ holds what they need.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

// Spelled in pieces, so that this file does not contain what it looks for.
const SHARED = ['..', 'shared'].join('/');
const FORBIDDEN = [SHARED, ...['design.md', 'anchors.md', 'device.md'].map((f) => ['shared', f].join('/'))];

function trackedFiles(): string[] {
  const r = spawnSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `git ls-files failed in ${root} (this test needs the git checkout): ${r.error?.message ?? r.stderr}`);
  return r.stdout.split('\0').filter((f) => f !== '');
}

test('no tracked file refers to the shared folder outside the repository', () => {
  const files = trackedFiles();
  assert.ok(files.includes('README.md') && files.length > 50, `git ls-files listed ${files.length} files`);
  const found: string[] = [];
  for (const file of files) {
    const path = join(root, file);
    if (!existsSync(path) || !statSync(path).isFile()) continue; // deleted in the work tree, or a submodule
    const text = readFileSync(path, 'latin1');
    for (const needle of FORBIDDEN) {
      const at = text.indexOf(needle);
      if (at >= 0) found.push(`${file}:${text.slice(0, at).split('\n').length}: '${needle}'`);
    }
  }
  assert.deepEqual(found, [], `files that refer outside the repository (point them to docs/design.md, docs/reference-figures.md, or state the fact):\n${found.join('\n')}`);
});
