/** The built-in probes. They use only the public API (src/api), exactly as a user's probe would. */
import { requestSlo } from './request-slo.ts'
import { natsClusterHealth } from './nats-cluster-health.ts'

export const builtInProbes = [requestSlo, natsClusterHealth]
