/**
 * The moments a drain probe exists for — each stop of a task (its SIGTERM, or its exit when it
 * was killed) and each lame-duck eviction of a NATS server — and how many of the probe's
 * requests were in flight at each. A drain verdict with nothing in flight at a stop could not
 * have failed there: that is the evidence the verdict rests on.
 *
 * Where the stops come from, all through the public environment API:
 *   - tasks: `env.tasks.list()` polled through the run (when a task leaves RUNNING: a load
 *     balancer deregistration, a drain) and `env.tasks.history()` at the end (when the task saw
 *     its SIGTERM, when it exited, what it said it held);
 *   - lame duck: one observer connection pinned to each server of the cluster; the server's
 *     notice and then its eviction of the observer mark the moment its clients are closed.
 *
 * A request counts at a stop when it was sent before the task stopped taking new work (before
 * it was seen to leave RUNNING) and was still unanswered at the stop. That is an upper bound on
 * what the stopping task itself held: the request may have been elsewhere on its path.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node'
import type { Json, ProbeContext, TaskLifecycle } from '../../../src/api/index.ts'

export interface Stop {
  /** sigterm: a task told to stop; exit: a task that ended without one (killed, crashed); lame-duck: a NATS server evicting its clients */
  kind: 'sigterm' | 'exit' | 'lame-duck'
  /** the task id or the server name */
  what: string
  service?: string
  /** epoch ms of the stop */
  at: number
  /** epoch ms when the task was first seen out of RUNNING (deregistered, draining), when before the stop */
  leftAt?: number
  /** what the task itself reported on its way out (in flight, dropped, abandoned), where the environment keeps it */
  taskReport?: Record<string, Json>
}

/** A request as the stops see it: sent at `sentAt` (epoch ms), answered or given up `ms` later. */
export interface InFlightRecord {
  sentAt: number
  ms: number
}

/** How many requests were in flight at the stop: sent before the task left (and before the stop), not yet settled at it. Pure. */
export function inFlightAt(records: readonly InFlightRecord[], stop: Stop): number {
  const sentBy = Math.min(stop.at, stop.leftAt ?? Infinity)
  let n = 0
  for (const r of records) if (r.sentAt <= sentBy && r.sentAt + r.ms > stop.at) n++
  return n
}

/** One label per stop for the per-stop metric, unique within the run (`gateway-1`, `n3`, `n3#2`). */
export function stopLabels(stops: readonly Stop[]): string[] {
  const seen = new Map<string, number>()
  return stops.map((s) => {
    const n = (seen.get(s.what) ?? 0) + 1
    seen.set(s.what, n)
    return n === 1 ? s.what : `${s.what}#${n}`
  })
}

/** The stops of the tasks that stopped inside [from, to], from their recorded lifecycle and what polling saw. Pure. */
export function taskStops(history: readonly TaskLifecycle[], leftAt: ReadonlyMap<string, number>, from: number, to: number): Stop[] {
  const stops: Stop[] = []
  for (const t of history) {
    const draining = t.drainingAt ? Date.parse(t.drainingAt) : undefined
    const stopped = t.stoppedAt ? Date.parse(t.stoppedAt) : undefined
    const at = draining ?? stopped
    if (at === undefined || at < from || at > to) continue
    const left = leftAt.get(t.id)
    const report = t.stopReport
      ? Object.fromEntries(
          Object.entries(t.stopReport).filter(
            ([k, v]) => !['at', 'level', 'service', 'task', 'event'].includes(k) && (v === null || ['string', 'number', 'boolean'].includes(typeof v)),
          ),
        )
      : undefined
    stops.push({
      kind: draining !== undefined ? 'sigterm' : 'exit',
      what: t.id,
      service: t.service,
      at,
      ...(left !== undefined && left <= at ? { leftAt: left } : {}),
      ...(report ? { taskReport: report as Record<string, Json> } : {}),
    })
  }
  return stops
}

export interface StopWatchOptions {
  /** services whose task stops count (default: every service of the environment) */
  services?: string[]
  /** the NATS cluster whose servers' lame-duck evictions count; none: do not watch */
  cluster?: string
  /** how often the task list is read */
  pollMs: number
}

/** Watches a run for stops. `start()` at the probe's start, `stop()` at its end gives the stops seen. */
export class StopWatch {
  private readonly leftAt = new Map<string, number>()
  /** tasks seen RUNNING, by id → their service */
  private readonly running = new Map<string, string>()
  private readonly evictions: Stop[] = []
  private readonly observers: NatsConnection[] = []
  private poller: NodeJS.Timeout | undefined
  private polling: Promise<void> = Promise.resolve()
  private from = 0

  constructor(
    private readonly ctx: ProbeContext,
    private readonly opts: StopWatchOptions,
  ) {}

  private services(): string[] {
    return this.opts.services ?? Object.keys(this.ctx.env.topology().services ?? {})
  }

  /** A task seen RUNNING and then not: the moment it stopped taking new work, as near as polling tells. */
  private async poll(): Promise<void> {
    const now = Date.now()
    for (const service of this.services()) {
      let tasks
      try {
        tasks = await this.ctx.env.tasks.list(service)
      } catch (err) {
        this.ctx.log.debug?.(`  drain ${this.ctx.name}: could not list ${service}: ${(err as Error).message}`)
        continue
      }
      const ids = new Set(tasks.map((t) => t.id))
      for (const t of tasks) {
        if (t.state === 'RUNNING') this.running.set(t.id, service)
        else if (this.running.has(t.id) && !this.leftAt.has(t.id)) this.leftAt.set(t.id, now)
      }
      for (const [id, of] of this.running) if (of === service && !ids.has(id) && !this.leftAt.has(id)) this.leftAt.set(id, now)
    }
  }

  /** One connection pinned to each server: its lame-duck notice, then its eviction, mark that server's stop. */
  private async observe(cluster: string): Promise<void> {
    let urls: string[]
    try {
      urls = this.ctx.env.endpoints.natsServers(cluster)
    } catch (err) {
      // an environment without that cluster has no lame duck to watch
      this.ctx.log.debug?.(`  drain ${this.ctx.name}: no NATS cluster ${cluster} to watch: ${(err as Error).message}`)
      return
    }
    await Promise.all(
      urls.map(async (url, i) => {
        let nc: NatsConnection
        try {
          nc = await connect({
            servers: [url],
            name: `gameday-drain-${this.ctx.name}-observer-${i}`,
            maxReconnectAttempts: -1,
            reconnectTimeWait: 250,
            ignoreClusterUpdates: true,
            ...(this.ctx.env.endpoints.natsOptions?.(cluster) ?? {}),
          })
        } catch (err) {
          // a server that is down now cannot go into lame duck while the probe runs
          this.ctx.log.debug?.(`  drain ${this.ctx.name}: no observer on ${url}: ${(err as Error).message}`)
          return
        }
        this.observers.push(nc)
        const server = nc.info?.server_name ?? url
        void (async () => {
          let noticed = false
          for await (const s of nc.status()) {
            if (s.type === 'ldm') noticed = true
            else if (s.type === 'disconnect' && noticed) {
              this.evictions.push({ kind: 'lame-duck', what: server, at: Date.now() })
              noticed = false
            }
          }
        })().catch((err) => this.ctx.log.debug?.(`  drain ${this.ctx.name}: observer on ${server} ended: ${(err as Error).message}`))
      }),
    )
  }

  async start(): Promise<void> {
    this.from = Date.now()
    await this.poll()
    this.poller = setInterval(() => {
      this.polling = this.polling.then(() => this.poll())
    }, this.opts.pollMs)
    if (this.opts.cluster) await this.observe(this.opts.cluster)
  }

  /** The stops seen since `start()`, in time order. */
  async stop(): Promise<Stop[]> {
    clearInterval(this.poller)
    await this.polling
    const to = Date.now()
    const stops: Stop[] = [...this.evictions]
    for (const service of this.services()) {
      let history: TaskLifecycle[] | undefined
      try {
        history = await this.ctx.env.tasks.history?.(service)
      } catch (err) {
        this.ctx.log.warn(`  drain ${this.ctx.name}: could not read the task history of ${service}: ${(err as Error).message}`)
      }
      if (history) stops.push(...taskStops(history, this.leftAt, this.from, to))
      else {
        // no history: the stop is when polling saw the task leave
        for (const [id, at] of this.leftAt) if (this.running.get(id) === service) stops.push({ kind: 'sigterm', what: id, service, at })
      }
    }
    return stops.sort((a, b) => a.at - b.at)
  }

  async close(): Promise<void> {
    clearInterval(this.poller)
    // observers only watched; one that is already closed has nothing left to release
    await Promise.all(this.observers.map((nc) => nc.close().catch(() => {})))
  }
}

export interface StopEvidence {
  metrics: Record<string, number>
  /** per stop, for the details */
  stops: { stop: string; kind: Stop['kind']; service?: string; at: string; leftAt?: string; inFlight: number; taskReport?: Record<string, Json> }[]
  /** why the verdict could not have failed, if it could not */
  inconclusive: string[]
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 23)
const KIND: Record<Stop['kind'], string> = { sigterm: 'SIGTERM', exit: 'exit', 'lame-duck': 'lame-duck eviction' }

/** Requests in flight at each stop, the figures, and — when some stop met none — why the verdict is inconclusive. Pure. */
export function stopEvidence(records: readonly InFlightRecord[], stops: readonly Stop[], minInFlight = 1): StopEvidence {
  const labels = stopLabels(stops)
  const counts = stops.map((s) => inFlightAt(records, s))
  const metrics: Record<string, number> = {
    inFlightAtStop: counts.reduce((a, b) => a + b, 0),
    stops: stops.length,
    leastInFlightAtStop: counts.length ? Math.min(...counts) : NaN,
  }
  labels.forEach((label, i) => (metrics[`inFlightAtStop.${label}`] = counts[i]))
  const inconclusive: string[] = []
  // minInFlight 0: the experiment rests its verdict on something other than stops (a certificate reload stops nothing)
  if (!stops.length && minInFlight > 0)
    inconclusive.push('no stop was seen while the probe ran (no task SIGTERM or exit, no lame-duck eviction): nothing tested the drain')
  const thin = stops.flatMap((s, i) => (counts[i] < minInFlight ? [`${labels[i]} ${KIND[s.kind]} at ${clock(s.at)} (${counts[i]})`] : []))
  if (thin.length)
    inconclusive.push(
      `fewer than ${minInFlight} of the probe's requests were in flight at ${thin.length} of ${stops.length} stop(s): ${thin.join(', ')} — ` +
        'a drain that drops in-flight work could not have shown it there; hold requests in flight (hold:, a slower route, a latency toxic on its dependency, a higher rate)',
    )
  return {
    metrics,
    stops: stops.map((s, i) => ({
      stop: labels[i],
      kind: s.kind,
      ...(s.service ? { service: s.service } : {}),
      at: new Date(s.at).toISOString(),
      ...(s.leftAt !== undefined ? { leftAt: new Date(s.leftAt).toISOString() } : {}),
      inFlight: counts[i],
      ...(s.taskReport ? { taskReport: s.taskReport } : {}),
    })),
    inconclusive,
  }
}

/** One line per stop for the journal and summary.md. */
export function describeStop(s: StopEvidence['stops'][number]): string {
  const own = s.taskReport && typeof s.taskReport.inFlightAtStop === 'number' ? `; the task said it held ${s.taskReport.inFlightAtStop}` : ''
  const dropped = s.taskReport && typeof s.taskReport.dropped === 'number' ? `, dropped ${s.taskReport.dropped}` : ''
  const left = s.leftAt ? ` (out of service from ${s.leftAt.slice(11, 23)})` : ''
  return `${s.stop} ${KIND[s.kind]} at ${s.at.slice(11, 23)}${left}: ${s.inFlight} of the probe's requests in flight${own}${dropped}`
}
