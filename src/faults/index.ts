/** The built-in faults. They use only the public API (src/api), exactly as a user's fault would. */
import { natsNodeFaults } from './nats-node.ts'
import { serviceTaskFaults } from './service-task.ts'
import { natsLameDuck } from './nats-lame-duck.ts'
import { networkPartition } from './network.ts'
import { redisFaults } from './redis.ts'
import { natsCorruptStore } from './nats-store.ts'

export const builtInFaults = [...natsNodeFaults, networkPartition, ...redisFaults, ...serviceTaskFaults, natsLameDuck, natsCorruptStore]
