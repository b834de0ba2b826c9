/**
 * The reference workload measured in the same process as each cell: the step's three GEMMs
 * alone (logits = X W^T, dX = G W, dW = G^T X) at the cell's shapes, on the same backend.
 * Strategy times divided by it are comparable across machines of different speed, and it is
 * the floor a step is judged against (docs/design.md, the work model). The logit-free step (--logits
 * fused) recomputes the logits of `recomputed` active columns: its floor adds that GEMM.
 */
import { core } from '../core/binding.js';
import { allocate, type Backend } from '../core/backend.js';
import type { StorageDType } from '../strategies/config.js';
import { spread } from './stats.js';
import type { Spread } from './results.js';

export function measureGemmFloor(backend: Backend, rows: number, active: number, dim: number, dtype: StorageDType, repeats: number, recomputed = 0): Spread {
  const native = core();
  const x = allocate(backend, 'workspace', dtype, rows, dim);
  const w = allocate(backend, 'workspace', dtype, active, dim);
  const g = allocate(backend, 'workspace', dtype, rows, active);
  const dx = allocate(backend, 'workspace', 'fp32', rows, dim);
  const dw = allocate(backend, 'workspace', 'fp32', active, dim);
  try {
    // Random data in every dtype: tensor cores run faster on zeros, which would flatter the floor.
    for (const t of [x, w, g]) native.fillRandom(t, 1, 0, 0, 'uniform', -1, 1);
    const logits = g;
    const timer = backend.createTimer('reference');
    const samples: number[] = [];
    for (let i = 0; i <= repeats; i++) {
      timer.start();
      native.gemm(x, false, w, true, logits, 1, 0);
      if (recomputed > 0) native.gemm(x, false, w.view(0, recomputed), true, g.reshape(rows, recomputed), 1, 0);
      native.gemm(g, false, w, false, dx, 1, 0);
      native.gemm(g, true, x, false, dw, 1, 0);
      timer.mark('gemm');
      const { totalMs } = timer.stop();
      if (i > 0) samples.push(totalMs); // the first run warms caches and libraries
    }
    return spread(samples);
  } finally {
    for (const t of [x, w, g, dx, dw]) t.free();
  }
}
