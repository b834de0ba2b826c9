/**
 * The example charts of docs/reading-reports.md are current: scripts/render-doc-images.ts
 * renders them again from the committed results files into a temporary folder, and each must
 * equal the committed docs/images file byte for byte (a chart holds no date and nothing of the
 * machine; only the results file, the report code and the DejaVu Sans font shape it). The
 * images folder holds exactly the rendered files, and the manual shows every one of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DOC_IMAGES, REPO_ROOT, renderDocImages } from '../scripts/render-doc-images.js';

const IMAGES = join(REPO_ROOT, 'docs/images');
const REFRESH = 'run `npx tsc -p tsconfig.json && node dist/scripts/render-doc-images.js` and commit docs/images';

test('the committed example charts are what the script renders from the committed results', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-doc-images-'));
  try {
    const written = await renderDocImages(dir);
    assert.deepEqual(written.map((p) => basename(p)), DOC_IMAGES.map((i) => i.file));
    for (const image of DOC_IMAGES) {
      const fresh = readFileSync(join(dir, image.file));
      let committed: Buffer;
      try {
        committed = readFileSync(join(IMAGES, image.file));
      } catch {
        assert.fail(`docs/images/${image.file} is missing: ${REFRESH}`);
      }
      assert.ok(fresh.equals(committed), `docs/images/${image.file} is not the ${image.chart} chart of ${image.source} as rendered now: ${REFRESH}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('docs/images holds only the rendered charts, and the manual shows each of them', () => {
  assert.deepEqual(readdirSync(IMAGES).sort(), DOC_IMAGES.map((i) => i.file).sort(), `docs/images has files the script does not render: ${REFRESH}`);
  const manual = readFileSync(join(REPO_ROOT, 'docs/reading-reports.md'), 'utf8');
  for (const image of DOC_IMAGES) assert.ok(manual.includes(`(images/${image.file})`), `docs/reading-reports.md does not show images/${image.file}`);
});
