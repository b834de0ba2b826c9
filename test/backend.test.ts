/** Backend selection without a GPU, and the GPU check script's behaviour on such a machine. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { core, selectBackend } from '../src/core/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const usable = core().cudaProbe().usable;

test('auto picks the CPU when no CUDA device is usable, and says why', { skip: usable && 'a CUDA device is usable here' }, () => {
  const { backend, note } = selectBackend('auto');
  assert.equal(backend.name, 'cpu');
  assert.match(note, /backend auto: cpu \(cuda unavailable: .+\)/);
  assert.throws(() => selectBackend('cuda'), /--backend: backend 'cuda' is unavailable: .+/);
  assert.throws(() => selectBackend('gpu'), /--backend: unknown backend 'gpu'/);
});

test('scripts/gpu-check.sh says there is no CUDA device and exits 0 (a build without the CUDA backend: exit 2)', { skip: usable && 'a CUDA device is usable here' }, () => {
  const r = spawnSync('bash', ['scripts/gpu-check.sh'], { cwd: root, encoding: 'utf8', env: { ...process.env, OUT: '' }, timeout: 60_000 });
  if (!core().buildInfo().cuda) {
    // Built where nvcc was missing: nothing could run on a GPU, and the check says so.
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /gpu-check: NO CUDA BACKEND/);
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /no CUDA device/);
});
