/**
 * circuit-breaker: does a service's breaker do its job while a dependency is degraded?
 *
 * Load goes through the gateway to the service (open loop); the probe listens to the breaker's
 * state events (`gameday.breaker.<service>`) and reads `$SRV.STATS.<service>`, and lines both up
 * with the fault timeline on the run's clock. Metrics:
 *   opensWithinMs   first fault injected → first breaker open (NaN: it never opened)
 *   openP99         p99 latency of requests answered while the breaker was open (fail fast)
 *   closesWithinMs  last fault reverted → every breaker that opened is closed again (NaN: stuck)
 *   overBudget      requests slower than the caller's budget, or timed out, at any time
 * Defaults mirror the issue: opens within 5 s, p99 < 20 ms while open, closes within 10 s, none over budget.
 */
import { Agent, request } from 'node:http'
import { z } from 'zod'
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node'
import { defineProbe, Duration, LOAD_METRICS, OpenLoopLoad, sleep, type FaultEvent, type Metrics, type Probe } from '../../src/api/index.ts'

const Params = z.strictObject({
  service: z.string().default('ai-integration'),
  path: z.string().default('/v1/ai/recommend'),
  body: z.string().default('{"playerId":"player-{seq}"}').describe('request body; {seq} is the request number'),
  rate: z.number().positive().default(50),
  budget: Duration.prefault('1s').describe("the caller's budget per request"),
  cluster: z.string().default('core'),
  closeTimeout: Duration.prefault('30s').describe('at stop, how long to wait for breakers still open after the last revert'),
})
type P = z.infer<typeof Params>

type State = 'closed' | 'open' | 'half-open'
interface BreakerEvent {
  t: number
  task: string
  state: State
}
interface Answer {
  t: number
  latency: number
  status: number
  breaker?: State
  servedBy?: string
}

function percentile(values: number[], p: number): number {
  if (!values.length) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

export const circuitBreaker = defineProbe<P>({
  type: 'circuit-breaker',
  description:
    'a breaker opens within a bound while its dependency is degraded, fails fast while open, closes after recovery, and no request exceeds the budget',
  params: Params,
  metrics: {
    ...LOAD_METRICS,
    opens: { unit: 'count', description: 'breaker transitions to open, over every task' },
    halfOpens: { unit: 'count', description: 'transitions to half-open' },
    closes: { unit: 'count', description: 'transitions to closed' },
    tasksOpened: { unit: 'count', description: 'tasks whose breaker opened at least once' },
    stuckOpen: { unit: 'count', description: 'tasks whose breaker was still open at the end' },
    open: { unit: 'count', description: 'live: breakers open now' },
    opensWithinMs: { unit: 'ms', description: 'first open after the first injection' },
    answeredWhileOpen: { unit: 'count', description: 'requests answered by a task whose breaker was open' },
    openP99: { unit: 'ms', description: 'p99 latency of the answers given while open (fail-fast)' },
    closesWithinMs: { unit: 'ms', description: 'last close after the last revert' },
    overBudget: { unit: 'count', description: "requests slower than the caller's budget, or unanswered" },
    maxLatency: { unit: 'ms', description: 'slowest answer' },
  },
  defaultTolerance: ['opensWithinMs < 5s', 'openP99 < 20ms', 'closesWithinMs < 10s', 'overBudget == 0'],
  async create(ctx, p): Promise<Probe> {
    const budget = p.budget
    const events: BreakerEvent[] = []
    const faults: FaultEvent[] = []
    const answers: Answer[] = []
    const stateByTask = new Map<string, State>()
    let nc: NatsConnection | undefined
    let sub: Subscription | undefined
    let load: OpenLoopLoad | undefined
    let unsubscribe = () => {}
    const agent = new Agent({ keepAlive: true, maxSockets: 128 })

    const send = (seq: number) =>
      new Promise<{ ok: boolean; errorClass?: string }>((resolve) => {
        const t = ctx.now()
        const started = performance.now()
        const url = new URL(ctx.env.endpoints.gateway())
        const body = p.body.replaceAll('{seq}', String(seq))
        const done = (status: number, breaker?: State, servedBy?: string) => {
          answers.push({ t, latency: performance.now() - started, status, ...(breaker ? { breaker } : {}), ...(servedBy ? { servedBy } : {}) })
          resolve(status === 200 ? { ok: true } : { ok: false, errorClass: status ? `http-${status}` : 'timeout' })
        }
        const req = request(
          { host: url.hostname, port: url.port, method: 'POST', path: p.path, agent, headers: { 'content-type': 'application/json' } },
          (res) => {
            let text = ''
            res.setEncoding('utf8')
            res.on('data', (d) => (text += d))
            res.on('end', () => {
              let answer: { breaker?: State; servedBy?: string } = {}
              try {
                answer = JSON.parse(text) as typeof answer
              } catch {
                // an error body: no breaker field
              }
              done(res.statusCode ?? 0, answer.breaker, answer.servedBy)
            })
            res.on('error', () => done(0))
          },
        )
        // the budget is the caller's: past it, the caller has given up
        req.setTimeout(budget, () => req.destroy(new Error('over budget')))
        req.on('error', () => done(0))
        req.end(body)
      })

    const openTasks = () => [...stateByTask.entries()].filter(([, s]) => s !== 'closed').map(([t]) => t)

    return {
      async start() {
        unsubscribe = ctx.onFault((e) => faults.push(e))
        nc = await connect({
          servers: ctx.env.endpoints.natsServers(p.cluster),
          name: `gameday-probe-${ctx.name}`,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
          ...(ctx.env.endpoints.natsOptions?.(p.cluster) ?? {}),
        })
        sub = nc.subscribe(`gameday.breaker.${p.service}`, {
          callback: (err, msg) => {
            if (err) return
            try {
              const e = msg.json<{ task: string; state: State }>()
              events.push({ t: ctx.now(), task: e.task, state: e.state })
              stateByTask.set(e.task, e.state)
            } catch {
              // not ours
            }
          },
        })
        await nc.flush()
        load = new OpenLoopLoad({ rate: p.rate, send })
        load.start()
      },
      snapshot: (): Metrics => ({ ...(load ? load.lastSecond() : {}), open: openTasks().length }),
      async stop() {
        // the breakers may still be closing after the last revert: that is what we measure
        const reverted = faults.some((f) => f.kind === 'reverted')
        const until = performance.now() + p.closeTimeout
        while (reverted && openTasks().length && performance.now() < until && !ctx.signal.aborted) await sleep(200)
        await load?.stop()
        const stats = await nc
          ?.requestMany(`$SRV.STATS.${p.service}`, '', { maxWait: 1000 })
          .then(async (it) => {
            const out: unknown[] = []
            for await (const m of it) out.push((m.json() as { data?: unknown }).data)
            return out
          })
          .catch(() => [])
        const firstInjected = faults.find((f) => f.kind === 'injected')?.at
        const lastReverted = [...faults].reverse().find((f) => f.kind === 'reverted')?.at
        const firstOpen = events.find((e) => e.state === 'open' && (firstInjected === undefined || e.t >= firstInjected))
        const opened = new Set(events.filter((e) => e.state === 'open').map((e) => e.task))
        let closesWithinMs = NaN
        if (lastReverted !== undefined && opened.size && openTasks().length === 0) {
          const lastClose = Math.max(...[...opened].map((task) => Math.max(...events.filter((e) => e.task === task && e.state === 'closed').map((e) => e.t))))
          closesWithinMs = Math.max(0, lastClose - lastReverted)
        }
        // "while open": the serving task's breaker was open for the whole request, by its own events —
        // a request that started before the breaker opened, or met the half-open trial, is not fail-fast
        const stateAt = (task: string, t: number): State => {
          let state: State = 'closed'
          for (const e of events) if (e.task === task && e.t <= t) state = e.state
          return state
        }
        const changedDuring = (task: string, from: number, to: number) => events.some((e) => e.task === task && e.t > from && e.t <= to)
        const whileOpen = answers
          .filter((a) => a.servedBy && a.breaker === 'open' && stateAt(a.servedBy, a.t) === 'open' && !changedDuring(a.servedBy, a.t, a.t + a.latency))
          .map((a) => a.latency)
        const over = answers.filter((a) => a.latency > budget || a.status === 0)
        const metrics: Metrics = {
          ...load!.metrics(),
          opens: events.filter((e) => e.state === 'open').length,
          halfOpens: events.filter((e) => e.state === 'half-open').length,
          closes: events.filter((e) => e.state === 'closed').length,
          tasksOpened: opened.size,
          stuckOpen: openTasks().length,
          opensWithinMs: firstOpen ? firstOpen.t - (firstInjected ?? 0) : NaN,
          answeredWhileOpen: whileOpen.length,
          openP99: percentile(whileOpen, 99),
          closesWithinMs,
          overBudget: over.length,
          maxLatency: answers.length ? Math.max(...answers.map((a) => a.latency)) : NaN,
        }
        // the breaker's states against the fault timeline, on the run's clock
        const timeline = [
          ...faults.map((f) => ({ t: Math.round(f.at), event: `fault ${f.type} ${f.kind}` })),
          ...events.map((e) => ({ t: Math.round(e.t), event: `breaker ${e.task} → ${e.state}` })),
        ].sort((a, b) => a.t - b.t)
        return {
          metrics,
          series: load!.series(),
          details: {
            timeline,
            statsAtEnd: JSON.parse(JSON.stringify(stats ?? [])),
            slowest: over.slice(0, 10).map((a) => ({ t: Math.round(a.t), latencyMs: Math.round(a.latency), status: a.status })),
          },
        }
      },
      async close() {
        unsubscribe()
        sub?.unsubscribe()
        agent.destroy()
        // the verdict is made; a connection that is already closed has nothing left to say
        await nc?.close().catch(() => {})
      },
    }
  },
})
