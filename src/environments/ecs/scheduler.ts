/**
 * The ECS stand-in's service scheduler, shared by the local supervisor (tasks are processes) and
 * the containers controller (tasks are containers): it keeps each service at its desired count,
 * spreading tasks over the AZs, replacing a task that exits for any reason (with a back-off while
 * a service keeps failing, as ECS throttles), counts a task only once it is ready, fronts each
 * http service with a load balancer that routes to ready tasks, and stops a task as ECS StopTask
 * does: out of the balancer, the deregistration delay, SIGTERM, SIGKILL after the grace.
 */
import type { NatsConnection } from '@nats-io/transport-node'
import { Balancer } from '../balancer.ts'
import { needsPort, describeReadyCheck, type TaskDefinition } from './definition.ts'
import { watchReadiness, type ReadinessWatch } from './readiness.ts'
import type { LineSink, RunningTask, TaskRuntime } from './runtime.ts'
import { markDeregistered, markDraining, markReady, markStopped, markStopRequested, parseTaskEvent, type TaskExit, type TaskRecord } from './task.ts'
import { fillPlaceholders } from './variables.ts'

const RESTART_DELAY_MS = 500
const MAX_RESTART_DELAY_MS = 30_000
/** stopped tasks remembered (and, for containers, kept) for their logs and for timing reports */
const HISTORY = 100
const TAIL_LINES = 20

export interface SchedulerOptions {
  definitions: Record<string, TaskDefinition>
  azs: string[]
  runtime: TaskRuntime
  /** a task's NATS servers: its own AZ's nodes first (it connects in order) */
  natsUrls(az: string): string[]
  /** the service's Redis, through its link on the fault proxy */
  redisUrl(service: string): string | undefined
  /** variables every task gets besides the standard ones */
  extraEnv?: Record<string, string>
  /** more placeholders per task (TLS and credential files, where the environment has them) */
  variables?(task: { id: string; service: string; az: string }): Record<string, string>
  /** NATS as the stand-in itself reaches it (natsService readiness) */
  observerNats: string[]
  /** and how it connects there (TLS files, as gameday's own identity) */
  observerNatsOptions?: Record<string, unknown>
  say(event: string, fields?: Record<string, unknown>): void
}

export class EcsScheduler {
  readonly tasks: TaskRecord[] = []
  updatedAt = new Date().toISOString()
  private readonly running = new Map<string, { task: RunningTask; exited: Promise<void> }>()
  private readonly watches = new Map<string, ReadinessWatch>()
  private readonly readyTimers = new Map<string, NodeJS.Timeout>()
  private readonly tails = new Map<string, string[]>()
  private readonly counters = new Map<string, number>()
  private readonly failures = new Map<string, number>()
  private readonly claims = new Map<string, string>()
  private active = false
  private reconciling: Promise<void> | undefined
  private reconcileTimer: NodeJS.Timeout | undefined
  private natsConnection: Promise<NatsConnection> | undefined

  constructor(private readonly opts: SchedulerOptions) {}

  /** Takes over what an earlier host left, then starts tasks up to each service's desired count. */
  async start(): Promise<void> {
    this.active = true
    if (this.opts.runtime.adopt) {
      for (const a of await this.opts.runtime.adopt((id) => (line) => this.onLine(id, line))) {
        const n = Number(a.id.slice(a.service.length + 1))
        if (Number.isInteger(n)) this.counters.set(a.service, Math.max(this.counters.get(a.service) ?? 0, n))
        if (!this.opts.definitions[a.service]) continue
        const record: TaskRecord = { service: a.service, id: a.id, az: a.az, state: 'PENDING', startedAt: a.startedAt }
        this.tasks.push(record)
        if (a.running) this.attach(record, a.running)
        else markStopped(record, a.exit ?? { code: null, signal: null })
      }
      if (this.tasks.length) this.opts.say('tasks.adopted', { tasks: this.tasks.map((t) => `${t.id}:${t.state}`) })
    }
    await this.reconcile()
  }

  private touch(): void {
    this.updatedAt = new Date().toISOString()
  }

  /** Starts what each service lacks; one pass at a time. */
  reconcile(): Promise<void> {
    this.reconciling ??= (async () => {
      try {
        const starts: Promise<void>[] = []
        for (const [service, def] of Object.entries(this.opts.definitions)) {
          const live = this.tasks.filter((t) => t.service === service && t.state !== 'STOPPED').length
          for (let i = live; i < def.instances && this.active; i++) starts.push(this.launch(service))
        }
        await Promise.all(starts)
      } finally {
        this.reconciling = undefined
      }
    })()
    return this.reconciling
  }

  private scheduleReconcile(service: string): void {
    if (!this.active || this.reconcileTimer) return
    // a service that keeps failing is restarted less and less often, as ECS throttles a crash loop
    const failures = this.failures.get(service) ?? 0
    const delay = Math.min(MAX_RESTART_DELAY_MS, RESTART_DELAY_MS * 2 ** Math.max(0, failures - 1))
    this.reconcileTimer = setTimeout(() => {
      this.reconcileTimer = undefined
      void this.reconcile()
    }, delay)
  }

  private variablesFor(id: string, service: string, az: string, port: number | undefined): Record<string, string> {
    const def = this.opts.definitions[service]
    const redis = this.opts.redisUrl(service)
    return {
      SERVICE: service,
      TASK_ID: id,
      AZ: az,
      NATS_URL: this.opts.natsUrls(az).join(','),
      ...(redis ? { REDIS_URL: redis } : {}),
      ...(port !== undefined ? { PORT: String(port) } : {}),
      STOP_GRACE_MS: String(def.stopGraceMs),
      ...this.opts.variables?.({ id, service, az }),
    }
  }

  private async launch(service: string): Promise<void> {
    const def = this.opts.definitions[service]
    const n = (this.counters.get(service) ?? 0) + 1
    this.counters.set(service, n)
    const id = `${service}-${n}`
    // spread over the AZs, as ECS spreads a service over its subnets
    const azs = this.opts.azs.length ? this.opts.azs : ['az-a']
    const az = azs[(n - 1) % azs.length]
    const port = needsPort(def) ? await this.opts.runtime.taskPort() : undefined
    const vars = this.variablesFor(id, service, az, port)
    const env = { ...this.opts.extraEnv, ...vars, ...Object.fromEntries(Object.entries(def.env).map(([k, v]) => [k, fillPlaceholders(v, vars)])) }
    const record: TaskRecord = { service, id, az, state: 'PENDING', startedAt: new Date().toISOString(), ...(port !== undefined ? { port } : {}) }
    this.tasks.push(record)
    this.touch()
    const watch = this.watch(record)
    try {
      const running = await this.opts.runtime.start(
        { id, service, az, definition: def, env, command: def.command?.map((a) => fillPlaceholders(a, vars)), port },
        (line) => this.onLine(id, line),
      )
      this.attach(record, running, watch)
    } catch (err) {
      watch.stop()
      const message = (err as Error).message
      this.remember(id, `could not start: ${message}`)
      record.failed = `could not start: ${message}`
      this.onExit(record, { code: null, signal: null })
    }
  }

  private watch(record: TaskRecord): ReadinessWatch {
    const def = this.opts.definitions[record.service]
    const watch = watchReadiness(def.ready, {
      task: record,
      nats: () => this.nats(),
      claims: this.claims,
      siblings: () => this.tasks.filter((t) => t.service === record.service && t !== record),
      ready: (at) => {
        if (!markReady(record, at)) return
        clearTimeout(this.readyTimers.get(record.id))
        this.failures.set(record.service, 0)
        this.touch()
        this.opts.say('task.ready', { task: record.id })
      },
    })
    this.watches.set(record.id, watch)
    return watch
  }

  /** Follows a running task: its readiness, its ready deadline, its exit. */
  private attach(record: TaskRecord, running: RunningTask, watch = this.watch(record)): void {
    if (running.pid) record.pid = running.pid
    if (running.container) record.container = running.container
    record.host = running.host
    this.opts.say('task.started', { task: record.id, az: record.az, ...(running.pid ? { pid: running.pid } : { container: running.container }) })
    const def = this.opts.definitions[record.service]
    if (record.state === 'PENDING') {
      this.readyTimers.set(
        record.id,
        setTimeout(() => {
          if (record.state !== 'PENDING') return
          record.failed = `not ready within ${Math.round(def.readyTimeoutMs / 1000)}s (ready when ${describeReadyCheck(def.ready)})`
          // `env up` reports the failure as soon as it sees it, before the stop below has ended
          // the task: its last lines go with the failure now (and are brought up to date at exit)
          record.lastLines = [...(this.tails.get(record.id) ?? [])]
          void this.stop(record.id, { reason: record.failed })
        }, def.readyTimeoutMs),
      )
    }
    const exited = running.exited.then((exit) => this.onExit(record, exit))
    this.running.set(record.id, { task: running, exited })
    watch.begin()
    this.touch()
  }

  private remember(id: string, line: string): void {
    const tail = this.tails.get(id) ?? []
    tail.push(line.length > 500 ? `${line.slice(0, 500)}…` : line)
    if (tail.length > TAIL_LINES) tail.shift()
    this.tails.set(id, tail)
  }

  private onLine(id: string, line: string): void {
    this.remember(id, line)
    const record = this.tasks.find((t) => t.id === id)
    if (!record) return
    const event = parseTaskEvent(line)
    if (event?.event === 'draining') {
      markDraining(record, { event })
      this.touch()
    } else if (event?.event === 'stopped') {
      record.stopReport = event
      this.touch()
    }
    this.watches.get(id)?.line(line, event)
  }

  private onExit(record: TaskRecord, exit: TaskExit): void {
    this.watches.get(record.id)?.stop()
    this.watches.delete(record.id)
    clearTimeout(this.readyTimers.get(record.id))
    this.readyTimers.delete(record.id)
    this.running.delete(record.id)
    if (!markStopped(record, exit)) return
    if (record.failed) {
      record.lastLines = this.tails.get(record.id) ?? []
      this.failures.set(record.service, (this.failures.get(record.service) ?? 0) + 1)
    }
    this.tails.delete(record.id)
    this.touch()
    this.opts.say('task.stopped', { task: record.id, exitCode: exit.code, signal: exit.signal, reason: record.stoppedReason })
    this.forgetOldest()
    this.scheduleReconcile(record.service)
  }

  private forgetOldest(): void {
    const stopped = this.tasks.filter((t) => t.state === 'STOPPED')
    for (const t of stopped.slice(0, Math.max(0, stopped.length - HISTORY))) {
      this.tasks.splice(this.tasks.indexOf(t), 1)
      void this.opts.runtime.forget?.(t).catch((err: Error) => this.opts.say('task.forget-failed', { task: t.id, error: err.message }))
    }
  }

  /**
   * Stops a task as ECS StopTask does: an http task leaves its load balancer first and gets its
   * SIGTERM after the deregistration delay; SIGKILL after the grace. Resolves once it exited.
   */
  async stop(id: string, opts: { graceMs?: number; reason?: string } = {}): Promise<TaskRecord | undefined> {
    const record = this.tasks.find((t) => t.id === id)
    if (!record || !this.running.has(id)) return record
    const def = this.opts.definitions[record.service]
    markStopRequested(record, opts.reason ?? 'stop requested')
    if (def.http && record.state === 'RUNNING') {
      markDeregistered(record)
      this.touch()
      await new Promise((r) => setTimeout(r, def.deregistrationDelayMs))
    }
    await this.terminate(record, opts.graceMs ?? def.stopGraceMs)
    return record
  }

  /** SIGTERM, SIGKILL once the grace is over; resolves once it exited (and its exit is recorded). */
  private async terminate(record: TaskRecord, graceMs: number): Promise<void> {
    const running = this.running.get(record.id)
    if (!running) return
    markDraining(record, 'sigterm')
    this.touch()
    await running.task.signal('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const inTime = await Promise.race([running.exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs)))])
    clearTimeout(timer)
    if (!inTime) await running.task.signal('SIGKILL')
    await running.exited
  }

  /** SIGKILL at once. Resolves once it exited. */
  async kill(id: string, reason = 'killed'): Promise<TaskRecord | undefined> {
    const record = this.tasks.find((t) => t.id === id)
    const running = this.running.get(id)
    if (!record || !running) return record
    markStopRequested(record, reason)
    await running.task.signal('SIGKILL')
    await running.exited
    return record
  }

  /** The load balancer of an http service: round robin over its ready tasks. */
  balancer(service: string): Balancer<TaskRecord> {
    return new Balancer({
      tasks: () => this.tasks.filter((t) => t.service === service),
      address: (t) => (t.host && t.port ? { host: t.host, port: t.port } : undefined),
    })
  }

  private nats(): Promise<NatsConnection> {
    // imported on first use: only services with natsService readiness need a NATS client here
    this.natsConnection ??= import('@nats-io/transport-node').then(({ connect }) =>
      connect({ servers: this.opts.observerNats, name: 'gameday-ecs', maxReconnectAttempts: -1, waitOnFirstConnect: true, ...this.opts.observerNatsOptions }),
    )
    return this.natsConnection
  }

  private quiesce(): void {
    this.active = false
    clearTimeout(this.reconcileTimer)
    for (const t of this.readyTimers.values()) clearTimeout(t)
    for (const w of this.watches.values()) w.stop()
    void this.natsConnection?.then((nc) => nc.close()).catch(() => undefined) // closing a connection that failed: nothing to release
  }

  /** No more replacements; every task gets SIGTERM, SIGKILL after its grace. */
  async shutdown(): Promise<void> {
    this.quiesce()
    const live = this.tasks.filter((t) => this.running.has(t.id))
    for (const t of live) markStopRequested(t, 'environment going down')
    await Promise.all(live.map((t) => this.terminate(t, this.opts.definitions[t.service].stopGraceMs)))
    this.touch()
  }

  /** No more replacements, tasks left running: the host is going away, another may adopt them. */
  detach(): void {
    this.quiesce()
  }
}

export type { LineSink }
