/**
 * What pfc-bench knows about a strategy, in one object per strategy (nccl-tests' struct of
 * functions): how to create it, what it can do (its capabilities), its analytic memory and work
 * models, the GEMM shapes of its step (the reference workload), the strategy its report ratios
 * divide by, the small configurations its tests run, and how readers call it. Each strategy file
 * ends with its descriptor; registry.ts lists the built-in ones and takes the ones a strategy
 * module loads (modules.ts). Outside the strategy files, the registry and the field defaults,
 * pfc-bench branches on a descriptor's fields, never on a strategy's name (test/no-names.test.ts).
 */
import type { BytesByCategory } from '../core/binding.js';
import type { CollectiveRecord } from '../comm/communicator.js';
import type { StepWork } from '../model/bytes.js';
import type { KernelShapes } from '../model/device-scratch.js';
import type { FcConfig, LogitsKind, UpdateKind } from './config.js';
import type { Strategy, StrategyContext } from './strategy.js';

/**
 * How lazy-dense's per-row step clock is sized:
 *   'per-shard-row': one int32 per centre of the rank's shard (the rows a step leaves out catch
 *     up when next selected; the strategy allocates it under 'optimizer');
 *   'none': every row is active every step, so lazy-dense is dense and needs no clock.
 */
export type LazyDenseClock = 'per-shard-row' | 'none';

/** A small configuration the tests, the load check and the GPU check run the strategy on. */
export interface StrategyExample {
  /** Fields over the test defaults (37 classes, batch 6, D 19, one rank, cosface, seed 7). */
  config: Partial<FcConfig>;
  /** Why this example (shown in test names). */
  note?: string;
}

export interface StrategyDescriptor {
  /** The --strategy value. */
  readonly name: string;
  /** One line for --help. */
  readonly summary: string;

  // Capabilities: what --update, --logits and --sample-rate may be; validateFcConfig refuses the rest.
  /** True when the strategy samples centres (takes --sample-rate); the others use every centre (rate 1). */
  readonly samples: boolean;
  /** The --update values it implements. */
  readonly updates: readonly UpdateKind[];
  /** The --logits values it implements ('fused' needs recomputedColumns). */
  readonly logits: readonly LogitsKind[];
  /** How lazy-dense's buffers are sized (the allocation and the memory model both read it). */
  readonly lazyDenseClock: LazyDenseClock;
  /**
   * Where the class centres live: 'sharded' (C/N rows per rank, the whole batch gathered: model
   * parallel's layout) or 'replicated' (every rank holds all C and its local batch: data parallel's).
   */
  readonly layout: 'sharded' | 'replicated';

  /**
   * The strategy its report ratio rows divide by (throughput and memory, per setting): a name,
   * null for none; absent means model parallel (DEFAULT_BASELINE).
   */
  readonly baseline?: string | null;
  /**
   * Small configurations on which the float64 reference test, the memory-model test, the MPI
   * equality test, the load check of a strategy module and the GPU check run it. Each capability
   * is exercised by the tests for every example (each update, each logits mode).
   */
  readonly examples: readonly StrategyExample[];

  /** Report colours of its methods, cycled (model parallel blue, Partial FC warm colours, ...). */
  readonly colours: readonly string[];
  /** Its rank among methods in reports; ties are broken by sortKey. */
  readonly order: number;
  create(ctx: StrategyContext): Strategy;
  /** Bytes per category that rank `rank` allocates (it mirrors the strategy's buffers). */
  memory(config: FcConfig, rank: number): BytesByCategory;
  /** FLOPs and bytes of one step with `activeCentres` active of a shard of `shardSize`. */
  work(config: FcConfig, activeCentres: number, shardSize: number): StepWork;
  /**
   * Strategies with the logit-free variant (--logits fused) only: the active columns whose logits
   * its gradient pass recomputes (the fourth GEMM's width) on rank `rank`.
   */
  recomputedColumns?(config: FcConfig, activeCentres: number, rank: number): number;
  /** The collectives one step logs (kind, op, label, bytes), in order: what the communication model and predict consume. */
  collectives(config: FcConfig): CollectiveRecord[];
  /** The shapes of its step's kernels that take device scratch on rank `rank` (model/device-scratch.ts). */
  kernelShapes(config: FcConfig, rank: number): KernelShapes;
  /** Rows of the step's GEMMs (x active centres x D): the reference workload's shape. */
  gemmRows(config: FcConfig): number;
  /** For readers: "Partial FC 0.1 (sparse)". */
  title(config: FcConfig): string;
  /** For tables: "partial-fc 0.1 sparse"; `detailed` adds what tells two cells apart in compare. */
  label(config: FcConfig, detailed?: boolean): string;
  /** Order among this strategy's methods in reports (smaller first). */
  sortKey(config: FcConfig): number;
}

/** The strategy report ratios divide by when a descriptor names none. */
export const DEFAULT_BASELINE = 'model-parallel';

/** The baseline a descriptor's ratio rows divide by (null: none; never itself). */
export function baselineOf(descriptor: StrategyDescriptor): string | null {
  const base = descriptor.baseline === undefined ? DEFAULT_BASELINE : descriptor.baseline;
  return base === descriptor.name ? null : base;
}
