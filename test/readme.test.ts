/**
 * The README stays a short door: at most 120 lines, its quick start's two commands are the ones
 * package.json and scripts/ provide, and its example of results is what `pfc-bench report`
 * renders now from the committed results file it names (no figure typed by hand).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderReport } from '../src/report/hook.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

test('the README is at most 120 lines', () => {
  const lines = readme.trimEnd().split('\n').length;
  assert.ok(lines <= 120, `README.md has ${lines} lines; the rest belongs in docs/`);
});

test("the quick start's two commands exist as written", () => {
  const block = /## Quick start[^\n]*\n+```sh\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'a Quick start section with a sh block');
  const commands = block[1].split('\n').filter((l) => l.trim() !== '').map((l) => l.replace(/\s+#.*$/, '').trim());
  assert.deepEqual(commands, ['bash scripts/install-system-deps.sh && npm install && npm run bench:seed', 'npm test']);
  assert.ok(existsSync(join(root, 'scripts', 'install-system-deps.sh')));
  const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<string, string>;
  assert.ok(scripts['bench:seed'] && scripts.test, 'package.json has bench:seed and test');
});

test("the README's example of results is the report rendered now from the committed file it names", async () => {
  const blocks = [...readme.matchAll(/<!-- results: (\S+), section "([^"]+)" -->\n([\s\S]*?)<!-- end results -->/g)];
  assert.ok(blocks.length >= 1, 'an example of results between <!-- results: FILE, section "NAME" --> and <!-- end results -->');
  const dir = mkdtempSync(join(tmpdir(), 'pfc-readme-'));
  try {
    for (const [, file, section, excerpt] of blocks) {
      const path = join(root, file);
      assert.ok(existsSync(path), `${file} (named by the README's example) exists`);
      const out = await renderReport([path], { formats: ['md'], outDir: dir });
      assert.ok(out.markdown, 'the report has its Markdown');
      const markdown = readFileSync(out.markdown, 'utf8');
      const start = markdown.indexOf(`\n## ${section}`);
      assert.ok(start >= 0, `the report of ${file} has a section "${section}"`);
      const end = markdown.indexOf('\n## ', start + 1);
      const rendered = markdown.slice(start, end < 0 ? undefined : end);
      assert.ok(
        rendered.includes(excerpt.trim()),
        `the README's excerpt of ${file}, section "${section}", is not what \`pfc-bench report ${file}\` renders now; copy the table from:\n${rendered}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every relative link in the README and docs/ points to a file in the repository', () => {
  const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
  let links = 0;
  for (const page of pages) {
    const text = readFileSync(join(root, page), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:|^#/.test(target)) continue; // a URL or an anchor on the same page
      links++;
      const file = join(root, dirname(page), target.replace(/#.*$/, ''));
      assert.ok(existsSync(file), `${page} links ${target}, which does not exist`);
    }
  }
  assert.ok(links >= 6, `only ${links} relative links found`);
});
