/**
 * pfc-bench/strategy: the public, versioned API for strategy modules (docs/strategy-modules.md).
 * Version STRATEGY_API_VERSION (1); a module exports `apiVersion` equal to it, and pfc-bench
 * refuses a module of another version by name. What is exported here keeps its meaning within a
 * version; anything else in the package is internal and may change without notice.
 *
 * A strategy module exports one or more StrategyDescriptors (the default export, a `strategies`
 * array, or named exports). It may build on:
 *   - the strategy interface: Strategy, StrategyContext, StrategyDescriptor, TensorOwner, FcConfig;
 *   - the native ops: core() (every op of the addon: gemm, normalizeRows, marginSoftmaxStats, ...,
 *     sampleCentres, sgdNormalizedUpdate), allocate() (tagged allocation), NativeTensor;
 *   - the sharded step: ShardedSoftmaxFc with an ActiveSet (which centres are active), as model
 *     parallel and Partial FC are built;
 *   - the model helpers: shardedMemory, shardedWork, fusedRecomputedColumns, fcStepWork,
 *     zeroBytes, STORAGE_BYTES and the shard arithmetic (shardOf, localBatch, numSampled, ...);
 *   - the test harness: exampleConfig, exampleCases, referenceMismatch (the float64 reference of
 *     the step), memoryMismatch, capabilityFailures, referenceStep and useStrategy (register a
 *     descriptor in a test process), so a module's author tests it as pfc-bench tests its own.
 */
import type { StrategyDescriptor } from './strategies/descriptor.js';
import { findStrategy, registerStrategy } from './strategies/registry.js';
import { descriptorProblems } from './strategies/modules.js';

export { STRATEGY_API_VERSION } from './strategies/modules.js';

// The strategy interface.
export type { Strategy, StrategyContext } from './strategies/strategy.js';
export { TensorOwner } from './strategies/strategy.js';
export type { StrategyDescriptor, StrategyExample, LazyDenseClock } from './strategies/descriptor.js';
export { DEFAULT_BASELINE } from './strategies/descriptor.js';
export type { FcConfig, LogitsKind, UpdateKind, StorageDType, Shard, SgdConfig } from './strategies/config.js';
export { UPDATE_KINDS, LOGITS_KINDS, MARGINS, DEFAULT_SGD } from './strategies/config.js';
export type { BatchSource } from './strategies/batch.js';
export { streamId } from './strategies/batch.js';

// The native ops.
export { core, type NativeTensor, type BytesByCategory, type DType, type Margin, MEMORY_CATEGORIES } from './core/binding.js';
export { allocate, type StepTimer } from './core/backend.js';

// The sharded step and its built-in active sets.
export { ShardedSoftmaxFc, type ActiveSet } from './strategies/sharded-softmax.js';
export { allCentres } from './strategies/model-parallel.js';
export { sampledCapacity } from './strategies/partial-fc.js';

// The model helpers.
export { shardedMemory, shardedWork, shardedCollectives, shardedKernelShapes, fusedRecomputedColumns, type ActiveSetShape } from './strategies/sharded-model.js';
export type { KernelShapes } from './model/device-scratch.js';
export type { CollectiveRecord } from './comm/communicator.js';
export { STORAGE_BYTES, fcStepWork, zeroBytes, totalBytes, type StepWork } from './model/bytes.js';
export { alignedColumns, fusedScratchColumns, fusedTileColumns, localBatch, numSampled, shardOf } from './strategies/config.js';

// The test harness (float64 reference, memory model check, capabilities).
export {
  buildStrategy,
  capabilityFailures,
  closeness,
  collectivesMismatch,
  cpuBackend,
  exampleCases,
  exampleConfig,
  memoryMismatch,
  outlierBatch,
  referenceMismatch,
  referenceStepFor,
  splitBatch,
  type ExampleCase,
} from './strategies/harness.js';
export { referenceStep, type RefStepInput, type RefStepOutput } from './strategies/reference.js';

/**
 * Registers a descriptor in this process (a module's own tests; pfc-bench's CLI registers modules
 * itself). The same object twice is a no-op; an invalid descriptor or a taken name throws.
 */
export function useStrategy(descriptor: StrategyDescriptor): void {
  if (findStrategy(descriptor.name) === descriptor) return;
  const problems = descriptorProblems(descriptor as unknown as Record<string, unknown>);
  if (problems.length) throw new Error(`strategy ${JSON.stringify(descriptor.name)} is not a valid descriptor: ${problems.join('; ')}`);
  registerStrategy(descriptor, 'useStrategy');
}
