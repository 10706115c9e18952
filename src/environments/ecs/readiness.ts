/**
 * Readiness: when a task counts as ready — traffic from the load balancer, RUNNING in the task
 * list, a replacement that has arrived. One watch per task, fed its output lines; the checks that
 * poll (http, tcp, natsService) start once the task runs and stop with it.
 */
import type { NatsConnection } from '@nats-io/transport-node'
import { canConnect } from '../../util/ports.ts'
import type { ReadyCheck } from './definition.ts'
import type { TaskEvent, TaskRecord } from './task.ts'

export interface ReadinessWatch {
  /** every line of the task's output, with its event when it is one */
  line(line: string, event: TaskEvent | undefined): void
  /** the task runs (its address is known): polling checks begin */
  begin(): void
  stop(): void
}

export interface ReadinessContext {
  task: TaskRecord
  /** the stand-in's NATS connection, for $SRV.PING */
  nats(): Promise<NatsConnection>
  /** which task each service instance (its $SRV id) was credited to */
  claims: Map<string, string>
  /** the other tasks of the service, for crediting an instance to the right one */
  siblings(): TaskRecord[]
  ready(at?: string): void
}

const POLL_MS = 100
const NATS_POLL_MS = 250

interface PingResponse {
  id?: string
  metadata?: Record<string, string> | null
}

export function watchReadiness(check: ReadyCheck, ctx: ReadinessContext): ReadinessWatch {
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  const done = (at?: string) => {
    if (stopped) return
    stopped = true
    if (timer) clearTimeout(timer)
    ctx.ready(at)
  }
  const poll = (probe: () => Promise<boolean>, everyMs: number) => {
    const tick = async () => {
      if (stopped) return
      const ok = await probe().catch(() => false) // not ready yet: asked again next tick
      if (ok) done()
      else if (!stopped) timer = setTimeout(() => void tick(), everyMs)
    }
    void tick()
  }
  const address = () => (ctx.task.host && ctx.task.port ? { host: ctx.task.host, port: ctx.task.port } : undefined)
  const regex = 'log' in check ? new RegExp(check.log) : undefined

  return {
    line(line, event) {
      if (stopped) return
      if ('event' in check && event?.event === 'ready') done(event.at)
      else if (regex?.test(line)) done()
    },
    begin() {
      if ('http' in check) {
        poll(async () => {
          const a = address()
          if (!a) return false
          const res = await fetch(`http://${a.host}:${a.port}${check.http}`, { signal: AbortSignal.timeout(1000) })
          await res.body?.cancel()
          return res.ok
        }, POLL_MS)
      } else if ('tcp' in check) {
        poll(async () => {
          const a = address()
          return a ? canConnect(a.port, a.host, 500) : false
        }, POLL_MS)
      } else if ('natsService' in check) {
        poll(() => answersPing(check.natsService, ctx), NATS_POLL_MS)
      }
    },
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
    },
  }
}

/**
 * Whether this task answers `$SRV.PING.<name>`. An instance whose metadata names the task
 * (`task: TASK_ID`) is credited to it exactly; otherwise an instance no live sibling was credited
 * with goes to this task — right in number, if not always in which task is which.
 */
async function answersPing(name: string, ctx: ReadinessContext): Promise<boolean> {
  const nc = await ctx.nats()
  const replies = await nc.requestMany(`$SRV.PING.${name}`, '', { strategy: 'timer', maxWait: 200 })
  const instances: PingResponse[] = []
  for await (const msg of replies) {
    try {
      instances.push(msg.json<PingResponse>())
    } catch {
      // not a $SRV answer: ignored
    }
  }
  if (instances.some((i) => i.metadata?.task === ctx.task.id)) return true
  const live = new Set(
    ctx
      .siblings()
      .filter((t) => t.state !== 'STOPPED')
      .map((t) => t.id),
  )
  const free = instances.find((i) => i.id && !i.metadata?.task && !live.has(ctx.claims.get(i.id) ?? ''))
  if (!free?.id) return false
  ctx.claims.set(free.id, ctx.task.id)
  return true
}
