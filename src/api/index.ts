/**
 * Gameday's public API — the only door. Built-in probes and faults (plugins/) import nothing
 * else from this repository (a lint rule holds them to it), so a user's own probe or fault,
 * written against `import … from 'gameday'`, can do everything a built-in does.
 */
// the contracts
export * from './environment.ts'
export * from './fault.ts'
export * from './probe.ts'
export * from './selector.ts'
export * from './errors.ts'
export { Registry, type Extension } from './registry.ts'
// parameters: durations parsed once into milliseconds
export { Duration, parseDuration, formatDuration, writeDuration, MAX_DURATION_MS } from './duration.ts'
// targets: selectors resolved against the live environment, with seeded picks
export { cacheOf, clusterOf, nodeTargets, nodesFromTargets, pickCount, resolveNodes, resolveTasks, targetNodes, taskTargets } from './select-targets.ts'
export type { Rng } from '../util/rng.ts'
// waiting without blocking a revert: every wait takes the run's abort signal
export { backoff, sleep, sleepUnlessAborted, waitFor, withTimeout, TimeoutError } from '../util/abort.ts'
// NATS monitoring endpoints (/healthz /varz /routez /jsz)
export {
  fetchJson,
  findMetaLeader,
  findStreamLeader,
  observeCluster,
  type ClusterView,
  type Jsz,
  type NodeView,
  type Routez,
  type Varz,
} from '../nats/monitor.ts'
// load generation and histories
export { LOAD_METRICS, OpenLoopLoad, type OpenLoopOptions, type Outcome } from '../load/open-loop.ts'
export { LineFileWriter } from '../util/line-file.ts'
// the checkers: pure functions from a recorded history to a verdict
export * from '../checkers/index.ts'
// the AWS capability of AWS-only faults
export * from './aws.ts'
