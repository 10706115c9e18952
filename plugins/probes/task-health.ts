/**
 * task-health: is every task of every service running, ready, connected to NATS and answering
 * — the desired count of each service, spread over its AZs — and, after a fault is reverted, how
 * long until that is true again. What ECS's running count and health checks would say, plus
 * what they would not: a task can be RUNNING and ready to its scheduler, yet hold no NATS
 * connection and answer nothing while the other tasks carry its traffic.
 *
 * Per sample, for each service (every service of the environment, or `services:`):
 *   running     its tasks in state RUNNING (ready: locally the task's `ready` line, on ECS
 *               RUNNING and healthy) against the desired count;
 *   connected   each running task holds a NATS connection named after it (`connectionName`,
 *               default `{service}/{task}`: how the reference target names its connections)
 *               in the /connz of some server of the cluster;
 *   answering   each running task of a NATS service answers `$SRV.PING.<service>` (replies are
 *               matched by the `task` in their metadata). A service counts as a NATS service once
 *               any of its tasks answered — an HTTP-only one (the gateway) never does;
 *   spread      its tasks sit in as many AZs as they could (min(desired, AZs)): reported, judged
 *               only by a tolerance that asks (`unspread == 0`).
 *
 * One-shot (steady state): waits up to `timeout` for every task to be healthy; `recoveryMs` is
 * how long that took. Continuous (`during:`): samples every `interval`, and after each revert
 * measures the time until every task is healthy again; at the end it keeps watching up to
 * `recoveryTimeout` for the last one. A task that never comes back is named in the journal.
 *
 *   - name: tasks
 *     probe: task-health
 *     with: { cluster: core }
 *     tolerance: ["healthy == true"]
 *     during: ["unrecovered == false", "recoveryMs < 30s"]
 */
import { z } from 'zod'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import {
  defineProbe,
  Duration,
  fetchJson,
  sleep,
  sleepUnlessAborted,
  type Environment,
  type FaultEvent,
  type Json,
  type Metrics,
  type Probe,
  type SeriesPoint,
  type TaskInfo,
} from '../../src/api/index.ts'

const Params = z.strictObject({
  cluster: z.string().default('core'),
  services: z.array(z.string()).optional().describe('the services to check (default: every service of the environment)'),
  timeout: Duration.prefault('30s').describe('one-shot: how long to wait for every task to be healthy'),
  interval: Duration.prefault('1s').describe('time between samples'),
  recoveryTimeout: Duration.prefault('30s').describe('continuous: at the end, how long to keep watching for the recovery after the last revert'),
  connectionName: z
    .string()
    .default('{service}/{task}')
    .describe("the NATS connection name of a task in /connz ({service}, {task}); '' skips the connection check"),
  ping: z.boolean().default(true).describe('ask each NATS service $SRV.PING and expect an answer from every running task'),
  pingWait: Duration.prefault('500ms').describe('how long to collect $SRV.PING answers'),
})
type P = z.infer<typeof Params>

/** One task as one sample saw it. */
export interface TaskView {
  task: string
  az?: string
  /** holds a NATS connection named after it; undefined when not checked */
  connected?: boolean
  /** answered $SRV.PING; undefined when its service is not a NATS service (or pings are off) */
  answering?: boolean
}

export interface ServiceView {
  service: string
  desired: number
  running: number
  /** running tasks per AZ */
  azs: Record<string, number>
  spread: boolean
  tasks: TaskView[]
}

export interface HealthView {
  services: ServiceView[]
  healthy: boolean
  /** one line per thing that is wrong, naming the task */
  problems: string[]
}

export interface Observed {
  /** desired count per service */
  desired: Record<string, number>
  /** every AZ of the environment */
  azs: string[]
  tasks: Record<string, TaskInfo[]>
  /** names of the connections open on the cluster's reachable servers; undefined: not checked */
  connections?: ReadonlySet<string>
  /** per service, the task ids that answered $SRV.PING; undefined: not a NATS service (or not checked) */
  answered: Record<string, ReadonlySet<string> | undefined>
  connectionName: string
}

export const connectionNameOf = (template: string, service: string, task: string) => template.replaceAll('{service}', service).replaceAll('{task}', task)

/** Judges one sample. Pure. */
export function assessTasks(o: Observed): HealthView {
  const problems: string[] = []
  const services = Object.entries(o.desired).map(([service, desired]): ServiceView => {
    const running = (o.tasks[service] ?? []).filter((t) => t.state === 'RUNNING').sort((a, b) => a.id.localeCompare(b.id))
    const azs: Record<string, number> = {}
    for (const t of running) azs[t.az ?? '?'] = (azs[t.az ?? '?'] ?? 0) + 1
    const spread = Object.keys(azs).length >= Math.min(desired, running.length, Math.max(1, o.azs.length))
    if (running.length < desired) problems.push(`${service}: ${running.length} of ${desired} task(s) running and ready`)
    const answered = o.answered[service]
    const tasks = running.map((t): TaskView => {
      const name = connectionNameOf(o.connectionName, service, t.id)
      const view: TaskView = {
        task: t.id,
        ...(t.az ? { az: t.az } : {}),
        ...(o.connections ? { connected: o.connections.has(name) } : {}),
        ...(answered ? { answering: answered.has(t.id) } : {}),
      }
      const wrong = [
        ...(view.connected === false ? [`not connected to NATS (no connection named ${name})`] : []),
        ...(view.answering === false ? [`no answer to $SRV.PING.${service}`] : []),
      ]
      if (wrong.length) problems.push(`${t.id}${t.az ? ` (${t.az})` : ''}: ${wrong.join(', ')}`)
      return view
    })
    return { service, desired, running: running.length, azs, spread, tasks }
  })
  return { services, healthy: problems.length === 0, problems }
}

/** The figures of one sample. Pure. */
export function healthMetrics(v: HealthView): Metrics {
  const tasks = v.services.flatMap((s) => s.tasks)
  return {
    healthy: v.healthy,
    services: v.services.length,
    desired: v.services.reduce((n, s) => n + s.desired, 0),
    running: v.services.reduce((n, s) => n + s.running, 0),
    missingTasks: v.services.reduce((n, s) => n + Math.max(0, s.desired - s.running), 0),
    disconnected: tasks.filter((t) => t.connected === false).length,
    unanswering: tasks.filter((t) => t.answering === false).length,
    unspread: v.services.filter((s) => !s.spread).length,
  }
}

/** Names of the connections open on every reachable server of the cluster (/connz). */
async function connectionNames(env: Environment, cluster: string, timeoutMs: number): Promise<Set<string>> {
  const names = new Set<string>()
  const nodes = env.topology().clusters[cluster]?.nodes ?? []
  await Promise.all(
    nodes.map(async (n) => {
      try {
        const connz = await fetchJson<{ connections?: { name?: string }[] }>(`${env.endpoints.natsMonitor(cluster, n.name)}/connz?limit=4096`, timeoutMs)
        for (const c of connz.connections ?? []) if (c.name) names.add(c.name)
      } catch {
        // a server that is down holds no connection: its clients must be found on another one
      }
    }),
  )
  return names
}

export const taskHealth = defineProbe<P>({
  type: 'task-health',
  description:
    'every task of every service running, ready, connected to NATS and answering $SRV.PING, at its desired count over its AZs; time to recover after a fault',
  params: Params,
  metrics: {
    healthy: { unit: 'boolean', description: 'every service at its desired count, every task connected and answering' },
    services: { unit: 'count', description: 'services checked' },
    desired: { unit: 'count', description: 'tasks wanted, over every service' },
    running: { unit: 'count', description: 'tasks running and ready' },
    missingTasks: { unit: 'count', description: 'desired tasks not running and ready' },
    disconnected: { unit: 'count', description: 'running tasks with no NATS connection in /connz' },
    unanswering: { unit: 'count', description: 'running tasks of a NATS service that did not answer $SRV.PING' },
    unspread: { unit: 'count', description: 'services whose tasks sit in fewer AZs than they could' },
    recoveryMs: { unit: 'ms', description: 'one-shot: until healthy; continuous: longest recovery after a revert' },
    unrecovered: { unit: 'boolean', description: 'continuous: not healthy again within recoveryTimeout of the last revert' },
    samples: { unit: 'count', description: 'continuous: observations made' },
    healthyRatio: { unit: 'ratio', description: 'continuous: healthy observations / observations' },
    longestUnhealthyMs: { unit: 'ms', description: 'continuous: longest stretch with some task unhealthy' },
  },
  defaultTolerance: ['healthy == true'],
  async create(ctx, p): Promise<Probe> {
    const topology = ctx.env.topology()
    const names = p.services ?? Object.keys(topology.services)
    const unknown = names.filter((s) => !topology.services[s])
    if (unknown.length)
      throw new Error(`task-health: no service ${unknown.join(', ')} in ${ctx.env.source} (has: ${Object.keys(topology.services).join(', ')})`)
    const desired = Object.fromEntries(names.map((s) => [s, topology.services[s].desired]))
    /** services that answered $SRV.PING at least once: NATS services, every task of which must answer */
    const natsServices = new Set<string>()
    let nc: NatsConnection | undefined

    const pingAll = async (): Promise<Record<string, Set<string> | undefined>> => {
      const out: Record<string, Set<string> | undefined> = {}
      if (!p.ping) return out
      nc ??= await connect({
        servers: ctx.env.endpoints.natsServers(p.cluster),
        name: `gameday-task-health-${ctx.name}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        ...(ctx.env.endpoints.natsOptions?.(p.cluster) ?? {}),
      })
      await Promise.all(
        names.map(async (service) => {
          const tasks = new Set<string>()
          try {
            const replies = await nc!.requestMany(`$SRV.PING.${service}`, '', { strategy: 'timer' as never, maxWait: p.pingWait })
            for await (const m of replies) {
              const meta = (m.json<{ metadata?: { task?: string } }>() ?? {}).metadata
              if (meta?.task) tasks.add(meta.task)
            }
          } catch {
            // no responders, or a connection between servers: no answer is what this sample records
          }
          if (tasks.size) natsServices.add(service)
          out[service] = natsServices.has(service) ? tasks : undefined
        }),
      )
      return out
    }

    const sampleOnce = async (): Promise<HealthView> => {
      const [tasks, connections, answered] = await Promise.all([
        Promise.all(names.map(async (s) => [s, await ctx.env.tasks.list(s)] as const)).then((e) => Object.fromEntries(e)),
        p.connectionName ? connectionNames(ctx.env, p.cluster, Math.max(500, p.interval)) : Promise.resolve(undefined),
        pingAll(),
      ])
      return assessTasks({ desired, azs: topology.azs, tasks, ...(connections ? { connections } : {}), answered, connectionName: p.connectionName })
    }

    // ---- continuous: samples, and the recovery after each revert ----
    let last: HealthView | undefined
    let sampling = false
    let loop: Promise<void> | undefined
    const series: SeriesPoint[] = []
    const t0 = performance.now()
    let samples = 0
    let healthySamples = 0
    let unhealthySince: number | undefined
    let longestUnhealthy = 0
    let revertedAt: number | undefined
    const recoveries: number[] = []
    /** problem → ms after the revert it was first seen, for the recovery under way */
    let onTheWay = new Map<string, number>()
    let unsubscribe = () => {}

    const record = (view: HealthView) => {
      const now = performance.now()
      samples++
      last = view
      if (view.healthy) {
        healthySamples++
        if (unhealthySince !== undefined) longestUnhealthy = Math.max(longestUnhealthy, now - unhealthySince)
        unhealthySince = undefined
        if (revertedAt !== undefined) {
          const afterRevertMs = Math.round(now - revertedAt)
          recoveries.push(afterRevertMs)
          const seen = [...onTheWay].map(([problem, at]) => `${problem} (+${(at / 1000).toFixed(1)}s)`)
          ctx.evidence('task-health.recovery', {
            afterRevertMs,
            summary: `every task healthy ${(afterRevertMs / 1000).toFixed(1)}s after the revert${seen.length ? `; on the way: ${seen.join('; ')}` : ''}`,
          })
          revertedAt = undefined
        }
      } else {
        unhealthySince ??= now
        if (revertedAt !== undefined) for (const problem of view.problems) if (!onTheWay.has(problem)) onTheWay.set(problem, Math.round(now - revertedAt))
      }
      const m = healthMetrics(view)
      series.push({
        t: Math.round((now - t0) / 100) / 10,
        healthy: view.healthy ? 1 : 0,
        running: m.running as number,
        disconnected: m.disconnected as number,
        unanswering: m.unanswering as number,
      })
    }

    const details = (view: HealthView): Json => JSON.parse(JSON.stringify(view)) as Json

    return {
      async run() {
        const start = performance.now()
        const deadline = start + p.timeout
        for (;;) {
          last = await sampleOnce()
          if (last.healthy || performance.now() > deadline || ctx.signal.aborted) break
          await sleepUnlessAborted(p.interval, ctx.signal)
        }
        if (!last.healthy)
          ctx.evidence('task-health', { problems: last.problems, summary: `not healthy after ${Math.round(p.timeout / 1000)}s: ${last.problems.join('; ')}` })
        return { metrics: { ...healthMetrics(last), recoveryMs: last.healthy ? performance.now() - start : NaN }, details: details(last) }
      },
      async start() {
        unsubscribe = ctx.onFault((e: FaultEvent) => {
          if (e.kind !== 'reverted') return
          revertedAt = performance.now()
          onTheWay = new Map()
        })
        record(await sampleOnce())
        sampling = true
        loop = (async () => {
          while (sampling) {
            await sleep(p.interval)
            if (!sampling) break
            // a sample that throws (the environment's task list unreadable for a moment) is skipped; the next follows
            await sampleOnce()
              .then(record)
              .catch((err: Error) => ctx.log.debug?.(`  ${ctx.name}: sample failed: ${err.message}`))
          }
        })()
      },
      snapshot: (): Metrics => (last ? { healthy: last.healthy, running: healthMetrics(last).running, disconnected: healthMetrics(last).disconnected } : {}),
      async stop() {
        // a recovery still under way is what this probe is for: watch it to its end (bounded)
        const until = performance.now() + p.recoveryTimeout
        while (revertedAt !== undefined && performance.now() < until && !ctx.signal.aborted) await sleep(p.interval)
        sampling = false
        await loop
        unsubscribe()
        const unrecovered = revertedAt !== undefined
        if (unrecovered) {
          const afterMs = Math.round(performance.now() - revertedAt!)
          ctx.evidence('task-health.unrecovered', {
            unrecoveredAfterMs: afterMs,
            problems: last?.problems ?? [],
            summary: `not healthy ${(afterMs / 1000).toFixed(1)}s after the revert: ${(last?.problems ?? []).join('; ')}`,
          })
        }
        if (unhealthySince !== undefined) longestUnhealthy = Math.max(longestUnhealthy, performance.now() - unhealthySince)
        return {
          metrics: {
            ...(last ? healthMetrics(last) : {}),
            samples,
            healthyRatio: samples ? healthySamples / samples : NaN,
            longestUnhealthyMs: Math.round(longestUnhealthy),
            recoveryMs: recoveries.length ? Math.max(...recoveries) : 0,
            unrecovered,
          },
          series,
          ...(last ? { details: details(last) } : {}),
        }
      },
      async close() {
        unsubscribe()
        sampling = false
        await loop
        // a connection that may already be closed: nothing left to release
        await nc?.close().catch(() => {})
      },
    }
  },
})
