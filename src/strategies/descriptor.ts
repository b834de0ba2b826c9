/**
 * What pfc-bench knows about a strategy, in one object per strategy (nccl-tests' struct of
 * functions): how to create it, its analytic memory and work models, the GEMM shapes of its
 * step (the reference workload), and how readers call it. Each strategy file ends with its
 * descriptor; registry.ts lists them. Nothing else in pfc-bench branches on a strategy's name.
 */
import type { BytesByCategory } from '../core/binding.js';
import type { StepWork } from '../model/bytes.js';
import type { KernelShapes } from '../model/device-scratch.js';
import type { FcConfig } from './config.js';
import type { Strategy, StrategyContext } from './strategy.js';

export interface StrategyDescriptor {
  /** The --strategy value. */
  readonly name: string;
  /** One line for --help. */
  readonly summary: string;
  /** True when the strategy samples centres (takes --sample-rate); the others use every centre (rate 1). */
  readonly samples: boolean;
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
