/** The built-in probes. They use only the public API (src/api), exactly as a user's probe would. */
import { requestSlo } from './request-slo.ts'
import { natsClusterHealth } from './nats-cluster-health.ts'
import { circuitBreaker } from './circuit-breaker.ts'
import { drain } from './drain.ts'
import { jetstreamDurability } from './jetstream-durability.ts'
import { casCorrectness } from './cas-correctness.ts'

export const builtInProbes = [requestSlo, natsClusterHealth, circuitBreaker, drain, jetstreamDurability, casCorrectness]
