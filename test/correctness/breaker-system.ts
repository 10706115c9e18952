/**
 * A small real system for the breaker and metric probes: nats-server, redis-server behind the
 * fault proxy (so Redis can be slowed down as `redis.throttle` does), the gateway and N
 * ai-integration tasks, each serving Prometheus text on its own /metrics port. `stop()` kills
 * every process and closes the proxy, whatever the test did.
 */
import { FaultProxy } from '../../src/proxy/index.ts'
import type { Environment } from '../../src/api/environment.ts'
import { freePort } from '../../src/util/ports.ts'
import { killAllTasks, spawnGateway, spawnTask, type GatewayTask, type Task } from '../../target/testing/tasks.ts'
import { startNatsServer, startRedisServer, type TestServer } from '../support/servers.ts'
import { singleNodeEnv, type MonitoredNats } from './support.ts'

export interface BreakerSystem {
  env: Environment
  gateway: GatewayTask
  tasks: Task[]
  /** each task's http://127.0.0.1:<port>/metrics */
  metricsUrls: string[]
  /** `host:port` of each task's metrics endpoint (Prometheus scrape targets) */
  metricsTargets: string[]
  /** add latency to every Redis round trip (both directions share it, as redis.throttle does) */
  throttle(latencyMs: number): Promise<void>
  unthrottle(): Promise<void>
  stop(): Promise<void>
}

export async function startBreakerSystem(opts: { instances?: number; taskEnv?: Record<string, string> } = {}): Promise<BreakerSystem> {
  const stops: (() => Promise<void>)[] = [killAllTasks]
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => {})
  }
  try {
    const [nats, redis]: TestServer[] = await Promise.all([startNatsServer({ jetstream: false }), startRedisServer()])
    stops.push(nats.stop, redis.stop)
    const proxy = await FaultProxy.start({ listen: '127.0.0.1:0', seed: 1 })
    stops.push(() => proxy.close())
    const link = await proxy.createProxy({ name: 'redis', listen: '127.0.0.1:0', upstream: `127.0.0.1:${redis.port}` })
    const gateway = await spawnGateway({ NATS_URL: nats.url })
    const ports = await Promise.all(Array.from({ length: opts.instances ?? 2 }, () => freePort()))
    const tasks = await Promise.all(
      ports.map((port, i) =>
        spawnTask('ai-integration', {
          NATS_URL: nats.url,
          REDIS_URL: `redis://${link.listen}`,
          TASK_ID: `ai-${i + 1}`,
          METRICS_PORT: String(port),
          BREAKER_VOLUME: '3',
          BREAKER_RESET_MS: '1000',
          ...opts.taskEnv,
        }),
      ),
    )
    await Promise.all(tasks.map((t) => t.waitForLog((l) => l.event === 'redis-ready')))
    const base = singleNodeEnv({ url: nats.url, monitorUrl: 'http://127.0.0.1:1' } as MonitoredNats)
    const env: Environment = { ...base, endpoints: { ...base.endpoints, gateway: () => gateway.url } }
    const toxics = ['latency-down', 'latency-up']
    return {
      env,
      gateway,
      tasks,
      metricsUrls: ports.map((p) => `http://127.0.0.1:${p}/metrics`),
      metricsTargets: ports.map((p) => `127.0.0.1:${p}`),
      async throttle(latencyMs) {
        // half each way: a round trip gains latencyMs
        for (const [name, stream] of [
          [toxics[0], 'downstream'],
          [toxics[1], 'upstream'],
        ])
          await proxy.addToxic('redis', { name, type: 'latency', stream, attributes: { latency: latencyMs / 2 } })
      },
      async unthrottle() {
        for (const name of toxics) await proxy.removeToxic('redis', name)
      },
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}
