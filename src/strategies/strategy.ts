/**
 * The one small interface every strategy implements. A strategy owns every tensor of its FC
 * layer on one rank (inputs included), so its tagged allocations are the rank's whole cost.
 */
import type { NativeTensor } from '../core/binding.js';
import type { Backend, StepTimer } from '../core/backend.js';
import type { Communicator } from '../comm/communicator.js';
import type { BatchSource } from './batch.js';
import type { FcConfig, Shard, StrategyName } from './config.js';

export interface StrategyContext {
  backend: Backend;
  comm: Communicator;
  config: FcConfig;
  source: BatchSource;
  /** false: allocate only, touching no memory (capacity probes); the step must not run. */
  initialize?: boolean;
}

export interface Strategy {
  readonly name: StrategyName;
  /** The class centres this rank holds and updates (all C for data parallel). */
  readonly shard: Shard;
  /** Centres and momentum, up to date (reading either flushes a lazy update first). */
  readonly weights: NativeTensor;
  readonly momentum: NativeTensor;
  /** This rank's gradient of the loss with respect to its local features (b x D), after step(). */
  readonly featureGrad: NativeTensor;
  /** One training step of the FC layer on this rank's batch for `step` (fetched from the source). */
  step(step: number, timer: StepTimer): void;
  /** Active centres of the last step on this rank. */
  activeCentres(): number;
  /** The last step's loss (mean over the global batch); null when not meaningful (emulated). */
  loss(): number | null;
  /**
   * This rank's sum of the last step's per-row losses, from its row statistics, in every mode.
   * Emulated, it is not the training loss, but it is finite exactly when the step did not diverge.
   */
  lossSum(): number;
  /** The last step's sampled centres (shard-local rows), or null when every centre is active. */
  activeIndices(): Int32Array | null;
  /** Brings every lazily updated row up to date (lazy-dense; a no-op otherwise). */
  flush(): void;
  dispose(): void;
}

/** Tracks the tensors a strategy allocates so dispose() frees them all. */
export class TensorOwner {
  private readonly owned: NativeTensor[] = [];

  own<T extends NativeTensor>(t: T): T {
    this.owned.push(t);
    return t;
  }

  freeAll(): void {
    for (const t of this.owned) t.free();
    this.owned.length = 0;
  }
}
