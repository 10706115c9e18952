/**
 * An in-memory Environment for testing the engine's own logic (ordering, reverts, aborts,
 * seeded picks) in milliseconds. It is a real implementation of the public contract — the same
 * one a user's environment would implement — not a mock of an external system; end-to-end
 * behaviour is tested against the real local environment in *.local.test.ts.
 */
import type { Environment, NodeAction, NodeInfo, TaskInfo, Topology } from '../../src/api/environment.ts'

export class MemoryEnvironment implements Environment {
  readonly kind = 'local' as const
  readonly source = 'memory'
  readonly events: string[] = []
  readonly down_ = new Set<string>()
  upCalls = 0
  downCalls = 0
  private upState = false

  constructor(
    private readonly topo: Topology = {
      azs: ['az-a', 'az-b', 'az-c'],
      clusters: {
        core: {
          name: 'core',
          nodes: [
            { cluster: 'core', name: 'n1', az: 'az-a' },
            { cluster: 'core', name: 'n2', az: 'az-a' },
            { cluster: 'core', name: 'n3', az: 'az-b' },
            { cluster: 'core', name: 'n4', az: 'az-b' },
            { cluster: 'core', name: 'n5', az: 'az-c' },
          ],
        },
      },
      caches: { cache: { name: 'cache' } },
      services: { api: { name: 'api', desired: 4 } },
    },
  ) {}

  topology(): Topology {
    return this.topo
  }
  capability<T>(): T | undefined {
    return undefined
  }
  endpoints = {
    natsServers: () => ['nats://127.0.0.1:1'],
    natsMonitor: () => 'http://127.0.0.1:1',
    redis: () => ({ host: '127.0.0.1', port: 1 }),
    gateway: () => 'http://127.0.0.1:1',
  }
  nodes = {
    describe: (action: NodeAction, n: NodeInfo) => [`${action} ${n.name}`],
    kill: async (n: NodeInfo) => void (this.down_.add(n.name), this.events.push(`kill ${n.name}`)),
    stop: async (n: NodeInfo) => void (this.down_.add(n.name), this.events.push(`stop ${n.name}`)),
    start: async (n: NodeInfo) => void (this.down_.delete(n.name), this.events.push(`start ${n.name}`)),
    isRunning: async (n: NodeInfo) => !this.down_.has(n.name),
  }
  tasks = {
    list: async (service: string): Promise<TaskInfo[]> =>
      Array.from({ length: 4 }, (_, i) => ({ service, id: `${service}-${i + 1}`, state: 'RUNNING', az: `az-${'abc'[i % 3]}` })),
    stop: async (t: TaskInfo) => void this.events.push(`stop-task ${t.id}`),
    kill: async (t: TaskInfo) => void this.events.push(`kill-task ${t.id}`),
    waitForDesired: async () => {},
  }
  async isUp() {
    return this.upState
  }
  async up() {
    this.upCalls++
    this.upState = true
  }
  async down() {
    this.downCalls++
    this.upState = false
  }
  async status() {
    return { up: this.upState, lines: [] }
  }
}
