/**
 * The process launcher of the MPI tests (test/mpi.test.ts, test/calibrate-mpi.test.ts,
 * test/slurm.test.ts): mpirun
 * with one MPMD block per app, or any command, with the environment Open MPI needs in a
 * container, killed (SIGTERM, then SIGKILL) after a timeout.
 */
import { spawn, spawnSync } from 'node:child_process';

/** A job that ends within this is "within seconds" (2 loaded CPU cores, 2-4 node processes). */
export const FAILURE_SECONDS = 15;

export interface JobResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
  timedOut: boolean;
}

export const MPI_ENV = {
  OMPI_ALLOW_RUN_AS_ROOT: '1',
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1',
  // Containers often forbid the cross-memory attach Open MPI's shared-memory transport uses.
  OMPI_MCA_btl_vader_single_copy_mechanism: 'none',
};

/** false when mpirun runs, else the reason the MPI tests are skipped. */
export const mpiSkip: string | false =
  spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).status === 0
    ? false
    : 'mpirun not found: install Open MPI (apt-get install openmpi-bin libopenmpi-dev) to run the distributed tests';

/** mpirun with `apps` (one per MPMD block: ranks and argv after `node`), killed after timeoutSeconds. */
export function mpirun(apps: { np: number; args: string[] }[], timeoutSeconds = 90): Promise<JobResult> {
  const argv = ['--allow-run-as-root', '--oversubscribe'];
  apps.forEach((app, i) => {
    if (i > 0) argv.push(':');
    argv.push('-np', String(app.np), process.execPath, ...app.args);
  });
  return runProcess('mpirun', argv, timeoutSeconds);
}

/** `command argv`, killed after timeoutSeconds; its environment is `env` (default this process's) plus MPI_ENV. */
export function runProcess(command: string, argv: string[], timeoutSeconds: number, env: NodeJS.ProcessEnv = process.env): Promise<JobResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, argv, { env: { ...env, ...MPI_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    let forced: NodeJS.Timeout | undefined;
    // SIGTERM first: mpirun forwards it to its ranks and cleans up; SIGKILL if it does not end.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      forced = setTimeout(() => child.kill('SIGKILL'), 5000);
    }, timeoutSeconds * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (forced) clearTimeout(forced);
      resolve({ code, signal, stdout, stderr, seconds: (Date.now() - started) / 1000, timedOut });
    });
  });
}

export function describeJob(job: JobResult): string {
  return `exit ${job.code}${job.signal ? ` (${job.signal})` : ''} after ${job.seconds.toFixed(1)}s${job.timedOut ? ' (TIMED OUT, killed)' : ''}\n--- stdout\n${job.stdout.slice(-3000)}\n--- stderr\n${job.stderr.slice(-3000)}`;
}
