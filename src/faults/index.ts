/** The built-in faults. They use only the public API (src/api), exactly as a user's fault would. */
import { natsNodeFaults } from './nats-node.ts'

export const builtInFaults = [...natsNodeFaults]
