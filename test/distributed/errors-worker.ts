/**
 * MPI error paths, one rank of test/mpi.test.ts (mpirun -np N node errors-worker.js MODE [OUT_DIR]):
 * - returned OUT_DIR: every rank calls MPI_Bcast with an invalid root; MPI_ERRORS_RETURN gives the
 *   error back as a JavaScript error, written to OUT_DIR/rank-R.json; the job then ends cleanly.
 * - one-rank-fails: rank 1 hits that MPI error while the other ranks wait in collectives; the
 *   failure path of real mode (message naming the rank, then MPI_Abort) must end the whole job.
 *
 * Run alone (node's test runner finds it), it does nothing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { core } from '../../src/core/index.js';
import { finalizeMpi, mpiWorld } from '../../src/comm/mpi.js';
import { failRank } from '../../src/bench/real.js';

function main(): void {
  const [mode, outDir] = process.argv.slice(2);
  if (!mode) {
    process.stdout.write('errors-worker: one rank of test/mpi.test.ts, launched by mpirun; nothing to do alone\n');
    return;
  }
  const world = mpiWorld();
  const native = core();
  const t = new native.NativeTensor('cpu', 'communication', 'fp32', 4, 1);
  t.write(Float32Array.of(1, 2, 3, 4));
  if (mode === 'returned') {
    let caught: { message: string; code: string } = { message: 'no error', code: '' };
    try {
      native.mpiBroadcast(t, 99);
    } catch (error) {
      caught = { message: (error as Error).message, code: String((error as { code?: unknown }).code) };
    }
    // The communicator still works after a returned error.
    native.mpiAllReduce(t, 'sum');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, `rank-${world.rank}.json`), JSON.stringify({ rank: world.rank, ...caught, sum: Array.from(t.read()) }));
    native.mpiBarrier();
    t.free();
    finalizeMpi();
    return;
  }
  if (mode === 'one-rank-fails') {
    try {
      native.mpiAllReduce(t, 'sum');
      if (world.rank === 1) native.mpiBroadcast(t, 99); // fails on rank 1 only
      native.mpiBarrier(); // the others wait here: only the abort can end them
      native.mpiAllReduce(t, 'sum');
      finalizeMpi();
    } catch (error) {
      failRank(world.rank, error);
    }
    return;
  }
  failRank(world.rank, new Error(`errors-worker: unknown mode '${mode}'`));
}

main();
