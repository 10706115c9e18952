/**
 * circuit-breaker: does a service's breaker do its job while a dependency is degraded?
 *
 * Load goes through the gateway (open loop, HTTP). The verdict rests first on what the caller
 * sees — black-box, no cooperation needed (breaker/calls.ts): when calls started failing fast
 * after the fault, how fast they were while failing fast, and when normal answers came back
 * after the revert; a degraded answer is recognised by an optional marker (a JSON field, a
 * header or a status code). A white-box source, when given (breaker/sources.ts), adds the
 * breaker's own states: JSON messages on a NATS subject, or a state gauge in a Prometheus text
 * endpoint — the reference target's `gameday.breaker.<service>` events are the default one.
 *
 *   - name: breaker
 *     probe: circuit-breaker
 *     with:
 *       service: ai-integration
 *       path: /v1/ai/recommend
 *       degraded: { json: /degraded }          # or { header: x-degraded } or { status: [503] }
 *       source: none                           # black-box only; or { nats: {...} } / { prometheus: {...} }
 *     tolerance: ["failFastWithinMs < 5s", "failFastP90 < 100ms", "recoveredWithinMs < 10s", "overBudget == 0"]
 *
 * Without a fault injected while it ran, nothing tested the breaker: the verdict is inconclusive.
 */
import type { IncomingMessage } from 'node:http'
import jsonpointer from 'jsonpointer'
import { z } from 'zod'
import {
  defineProbe,
  Duration,
  gatewayHttp,
  LOAD_METRICS,
  OpenLoopLoad,
  sleep,
  type FaultEvent,
  type Json,
  type Metrics,
  type Probe,
} from '../../src/api/index.ts'
import { analyseCalls, callSeries, type Call, type CallJudgement } from './breaker/calls.ts'
import { BreakerSource, startNatsSource, startPrometheusSource, type RunningSource } from './breaker/sources.ts'
import { analyseStates, currentStates, transitions, type AttributedCall } from './breaker/states.ts'

const JsonScalar = z.union([z.string(), z.number(), z.boolean()])
const DegradedMarker = z
  .union([
    z.strictObject({ json: z.string().describe('JSON pointer into the answer, e.g. /degraded'), equals: JsonScalar.default(true) }),
    z.strictObject({ header: z.string(), equals: z.string().optional().describe('default: the header present at all') }),
    z.strictObject({ status: z.union([z.int(), z.array(z.int()).min(1)]) }),
  ])
  .describe('how a degraded (fallback) answer is recognised; without it, any failure counts')
const ServedBy = z
  .union([z.strictObject({ json: z.string() }), z.strictObject({ header: z.string() })])
  .describe('where an answer names the breaker instance that served it (white-box attribution)')
const Ratio = z.number().min(0).max(1)

const Params = z.strictObject({
  service: z.string().default('ai-integration'),
  method: z.enum(['GET', 'POST', 'PUT']).default('POST'),
  path: z.string().default('/v1/ai/recommend'),
  body: z.string().default('{"playerId":"player-{seq}"}').describe('request body; {seq} is the request number'),
  rate: z.number().positive().default(50),
  budget: Duration.prefault('1s').describe("the caller's budget per request"),
  cluster: z.string().default('core').describe('the NATS cluster of a `nats` source'),
  closeTimeout: Duration.prefault('30s').describe('at stop, how long to wait for the breaker to close and normal answers after the last revert'),
  degraded: DegradedMarker.optional(),
  servedBy: ServedBy.optional(),
  fast: Duration.prefault('100ms').describe('a failure answered quicker than this fails fast'),
  window: Duration.prefault('1s').describe('how long a share must hold to mark the start of failing fast, or the return of normal answers'),
  failFastShare: Ratio.default(0.9).describe('share of fast failures over one window that starts the fail-fast period'),
  normalShare: Ratio.default(0.9).describe('share of normal answers over one window that ends it'),
  source: BreakerSource.prefault({ nats: {} }).describe('white-box breaker state: none, { nats: … } or { prometheus: … }'),
})
type P = z.infer<typeof Params>

const BLACK_BOX_METRICS = {
  normalAnswers: { unit: 'count', description: 'answers 2xx/3xx without the degraded marker' },
  failedAnswers: { unit: 'count', description: 'degraded answers (with a marker), or any failure (without one)' },
  failFastWithinMs: { unit: 'ms', description: 'first injection → calls fail fast for a whole window (NaN: never)' },
  failedWhileFailingFast: { unit: 'count', description: 'failures answered from then until normal answers came back' },
  fastShare: { unit: 'ratio', description: 'share of those answered faster than `fast`' },
  failFastP50: { unit: 'ms', description: 'median latency of those failures' },
  failFastP90: { unit: 'ms', description: '90th percentile latency of those failures' },
  failFastP99: { unit: 'ms', description: '99th percentile latency of those failures (half-open trials included)' },
  failFastMax: { unit: 'ms', description: 'slowest of those failures' },
  recoveredWithinMs: { unit: 'ms', description: 'last revert → normal answers for a whole window (NaN: never)' },
  overBudget: { unit: 'count', description: "requests slower than the caller's budget, or unanswered" },
  maxLatency: { unit: 'ms', description: 'slowest answer' },
} as const

const WHITE_BOX_METRICS = {
  opens: { unit: 'count', description: 'white-box: breaker transitions to open, over every instance' },
  halfOpens: { unit: 'count', description: 'white-box: transitions to half-open' },
  closes: { unit: 'count', description: 'white-box: transitions to closed' },
  tasksOpened: { unit: 'count', description: 'white-box: instances whose breaker opened at least once' },
  stuckOpen: { unit: 'count', description: 'white-box: instances whose breaker was still open at the end' },
  open: { unit: 'count', description: 'white-box, live: breakers open now' },
  opensWithinMs: { unit: 'ms', description: 'white-box: first open after the first injection' },
  answeredWhileOpen: { unit: 'count', description: 'white-box: requests answered while the serving breaker was open throughout' },
  openP99: { unit: 'ms', description: 'white-box: p99 latency of those answers (fail-fast)' },
  closesWithinMs: { unit: 'ms', description: 'white-box: last revert → every breaker that opened is closed again' },
} as const

/** Whether an answer carries the degraded marker. */
export function hasMarker(marker: P['degraded'], status: number, headers: Record<string, string | string[] | undefined>, body: unknown): boolean {
  if (!marker) return false
  if ('status' in marker) return (Array.isArray(marker.status) ? marker.status : [marker.status]).includes(status)
  if ('header' in marker) {
    const value = headers[marker.header.toLowerCase()]
    if (value === undefined) return false
    return marker.equals === undefined || [value].flat().includes(marker.equals)
  }
  if (body === undefined || body === null || typeof body !== 'object') return false
  return jsonpointer.get(body, marker.json) === marker.equals
}

function servedByOf(servedBy: P['servedBy'], headers: Record<string, string | string[] | undefined>, body: unknown): string | undefined {
  if (!servedBy) return undefined
  if ('header' in servedBy) return [headers[servedBy.header.toLowerCase()]].flat()[0]
  const value = body && typeof body === 'object' ? jsonpointer.get(body, servedBy.json) : undefined
  return value === undefined ? undefined : String(value)
}

export const circuitBreaker = defineProbe<P>({
  type: 'circuit-breaker',
  description:
    "a breaker, judged from the caller's side (and, with a source, from its own state): calls fail fast soon after the dependency degrades, fast while they do, normal answers return after recovery, and no request exceeds the budget",
  params: Params,
  metrics: { ...LOAD_METRICS, ...BLACK_BOX_METRICS, ...WHITE_BOX_METRICS },
  defaultTolerance: ['failFastWithinMs < 5s', 'failFastP90 < 100ms', 'recoveredWithinMs < 10s', 'overBudget == 0'],
  async create(ctx, p): Promise<Probe> {
    const faults: FaultEvent[] = []
    const calls: (Call & AttributedCall)[] = []
    const judgement: CallJudgement = {
      markerConfigured: p.degraded !== undefined,
      fastMs: p.fast,
      windowMs: p.window,
      failFastShare: p.failFastShare,
      normalShare: p.normalShare,
      minCalls: 3,
    }
    let source: RunningSource | undefined
    let load: OpenLoopLoad | undefined
    let startedAt = 0
    let unsubscribe = () => {}
    // the gateway as a client: https with the environment's CA where it has one
    const gateway = gatewayHttp(ctx.env, { keepAlive: true, maxSockets: 128 })

    const send = (seq: number) =>
      new Promise<{ ok: boolean; errorClass?: string }>((resolve) => {
        const t = ctx.now()
        const started = performance.now()
        const body = p.method === 'GET' ? undefined : p.body.replaceAll('{seq}', String(seq))
        let settled = false
        const done = (status: number, headers: Record<string, string | string[] | undefined> = {}, json?: unknown) => {
          if (settled) return
          settled = true
          const degraded = hasMarker(p.degraded, status, headers, json)
          const servedBy = servedByOf(p.servedBy, headers, json)
          calls.push({ t, latency: performance.now() - started, status, degraded, ...(servedBy !== undefined ? { servedBy } : {}) })
          resolve(
            status >= 200 && status < 400 && !degraded
              ? { ok: true }
              : { ok: false, errorClass: degraded ? 'degraded' : status ? `http-${status}` : 'timeout' },
          )
        }
        const req = gateway.request(
          {
            method: p.method,
            path: p.path.replaceAll('{seq}', String(seq)),
            headers: body ? { 'content-type': 'application/json' } : {},
          },
          (res: IncomingMessage) => {
            let text = ''
            res.setEncoding('utf8')
            res.on('data', (d) => (text += d))
            res.on('end', () => {
              let json: unknown
              try {
                json = JSON.parse(text)
              } catch {
                // not JSON: a JSON marker cannot match, a header or status marker still can
              }
              done(res.statusCode ?? 0, res.headers, json)
            })
            res.on('error', () => done(0))
          },
        )
        // the budget is the caller's: past it, the caller has given up
        req.setTimeout(p.budget, () => req.destroy(new Error('over budget')))
        req.on('error', () => done(0))
        req.end(body)
      })

    const openNow = () => (source ? [...currentStates(source.changes).values()].filter((s) => s !== 'closed').length : 0)

    return {
      async start() {
        unsubscribe = ctx.onFault((e) => faults.push(e))
        const src = p.source
        if (src !== 'none' && 'nats' in src)
          source = await startNatsSource(ctx.env, { ...src.nats, cluster: p.cluster }, p.service, `gameday-probe-${ctx.name}`, ctx.now)
        else if (src !== 'none' && 'prometheus' in src) source = startPrometheusSource(src.prometheus, ctx.now)
        startedAt = ctx.now()
        load = new OpenLoopLoad({ rate: p.rate, send })
        load.start()
      },
      snapshot: (): Metrics => ({ ...(load ? load.lastSecond() : {}), ...(source ? { open: openNow() } : {}) }),
      async stop() {
        // the breaker may still be closing after the last revert: that is part of what is measured
        const reverted = faults.some((f) => f.kind === 'reverted')
        const until = performance.now() + p.closeTimeout
        const settled = () => analyseCalls(calls, faults, judgement).recoveredAt !== undefined && openNow() === 0
        while (reverted && !settled() && performance.now() < until && !ctx.signal.aborted) {
          await sleep(200)
          await source?.refresh()
        }
        await load?.stop()
        await source?.refresh()
        const seen = analyseCalls(calls, faults, judgement)
        const over = calls.filter((c) => c.latency > p.budget || c.status === 0)
        const metrics: Metrics = {
          ...load!.metrics(),
          normalAnswers: seen.normal,
          failedAnswers: seen.failed,
          failFastWithinMs: seen.failFastWithinMs,
          failedWhileFailingFast: seen.failedWhileFailingFast,
          fastShare: seen.fastShare,
          failFastP50: seen.failFastP50,
          failFastP90: seen.failFastP90,
          failFastP99: seen.failFastP99,
          failFastMax: seen.failFastMax,
          recoveredWithinMs: seen.recoveredWithinMs,
          overBudget: over.length,
          maxLatency: calls.length ? Math.max(...calls.map((c) => c.latency)) : NaN,
        }
        const timeline: { t: number; event: string }[] = faults.map((f) => ({ t: Math.round(f.at), event: `fault ${f.type} ${f.kind}` }))
        if (seen.failFastAt !== undefined) timeline.push({ t: Math.round(seen.failFastAt), event: 'calls fail fast' })
        if (seen.recoveredAt !== undefined) timeline.push({ t: Math.round(seen.recoveredAt), event: 'normal answers again' })
        if (source) {
          Object.assign(metrics, analyseStates(source.changes, calls, faults))
          for (const e of transitions(source.changes)) timeline.push({ t: Math.round(e.t), event: `breaker ${e.instance} → ${e.state}` })
        }
        timeline.sort((a, b) => a.t - b.t)
        const inconclusive = faults.some((f) => f.kind === 'injected') ? [] : ['no fault was injected while the probe ran: nothing put the breaker to the test']
        const details: Json = {
          timeline,
          judgedBy: {
            degraded: (p.degraded ?? 'any failure (no marker configured)') as Json,
            fastMs: p.fast,
            windowMs: p.window,
            failFastShare: p.failFastShare,
            normalShare: p.normalShare,
            source: p.source === 'none' ? 'none' : Object.keys(p.source)[0],
          },
          ...(source && Object.keys(source.problems).length ? { sourceProblems: source.problems } : {}),
          slowest: [...over]
            .sort((a, b) => b.latency - a.latency)
            .slice(0, 10)
            .map((a) => ({ t: Math.round(a.t), latencyMs: Math.round(a.latency), status: a.status })),
        }
        return { metrics, series: callSeries(calls, startedAt, judgement), details, inconclusive }
      },
      async close() {
        unsubscribe()
        gateway.close()
        await source?.close()
      },
    }
  },
})
