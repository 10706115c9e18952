/**
 * drain: does a stop, a restart or a lame duck lose requests? Open-loop load at a constant rate
 * through the gateway (HTTP) or straight over NATS request-reply, every request tracked by its
 * id (`x-request-id`, also sent as a NATS header) from the moment it is sent to its outcome:
 *
 *   ok         answered successfully
 *   retryable  a clean refusal the caller can safely retry: 503 (draining, no responders),
 *              connection refused, or an error before the request left the client
 *   failed     answered with any other error (400, 500, 502…): not lost, but not served
 *   lost       accepted and never answered: the connection reset or hung up after the request
 *              was written, the response cut short, or an answer that says the request vanished
 *              upstream (504: the gateway's call to the service timed out); over NATS, a request
 *              whose connection dropped while it awaited its reply (`lost.disconnect`: the reply
 *              went to a connection that is gone — a killed server's, not a client stuck)
 *   timedOut   no answer at all within `timeout` (the request's budget), its connection up
 *              throughout or never back: it hung
 *
 * Default tolerance `lost == 0`, `hung == 0` (`hung` is the count of timedOut requests).
 *
 * Metrics: counts per outcome and per cause (`lost.reset`, `retryable.http-503`), the slowest
 * answer, and — for NATS — each probe-owned connection's reconnections (`nc.status()`): time from
 * disconnect to reconnect, and from the lame-duck notice to reconnect. The NATS clients behave as
 * a lame-duck-aware SDK (`lameDuckAware`, default on): after its server's notice a connection
 * takes no new request, and a new connection is made before the break when all are leaving.
 * Details name the first lost and hung requests by id with their send time, to line up with the
 * fault timeline, and each stop with what was in flight at it; every
 * request goes to the artifact `<probe>.<phase>.requests.jsonl`.
 *
 * Evidence: a drain verdict means something only if requests were in flight when things
 * stopped. The probe finds every stop while it runs — a task's SIGTERM (or exit), a NATS
 * server's lame-duck eviction — and counts its requests in flight at each (`inFlightAtStop`,
 * in total, `leastInFlightAtStop` and `inFlightAtStop.<task|server>` per stop; see drain/stops.ts).
 * A stop that met fewer than `minInFlightAtStop` (1) makes the verdict inconclusive, never a
 * pass; a tolerance can ask for more (`inFlightAtStop >= 5`). To make the evidence happen:
 * `hold` sends each body slowly (via gateway, routes that read a body), and for work held at a
 * service, slow its dependency for the run (a `redis.throttle` step without a duration).
 *
 *   - name: drain
 *     probe: drain
 *     with: { via: gateway, method: POST, path: /v1/ai/recommend, body: '{"playerId":"p-{seq}"}', rate: 20, hold: 1500ms }
 *     tolerance: ["lost == 0", "hung == 0", "inFlightAtStop >= 5"]
 */
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { z } from 'zod'
import {
  ClosedConnectionError,
  connect,
  DrainingConnectionError,
  headers as natsHeaders,
  NoRespondersError,
  RequestError,
  TimeoutError,
  type NatsConnection,
} from '@nats-io/transport-node'
import {
  defineProbe,
  Duration,
  gatewayHttp,
  LOAD_METRICS,
  OpenLoopLoad,
  sleepUnlessAborted,
  type Json,
  type Metrics,
  type Outcome,
  type Probe,
  type ProbeResult,
} from '../../src/api/index.ts'
import { REQUEST_PARAMS } from './shared-request.ts'
import { httpSender, type Sender } from './drain/http-sender.ts'
import { describeStop, stopEvidence, StopWatch } from './drain/stops.ts'

const Params = z.strictObject({
  ...REQUEST_PARAMS,
  clients: z.int().positive().max(64).default(3).describe('via nats: probe-owned connections the requests are spread over; each one times its reconnections'),
  lameDuckAware: z
    .boolean()
    .default(true)
    .describe('via nats: after a lame-duck notice a connection takes no new request, as a lame-duck-aware SDK does (false: keep sending until evicted)'),
  rate: z.number().positive().default(50).describe('requests per second (open loop)'),
  duration: Duration.prefault('5s').describe('how long a one-shot run lasts'),
  timeout: Duration.prefault('5s').describe("each request's budget: no answer by then and it hung"),
  keepAlive: z.boolean().default(false).describe('reuse HTTP connections (a reset on a reused connection still counts as lost)'),
  retryableStatuses: z.array(z.int()).default([503]).describe('statuses that are a clean, retryable refusal'),
  lostStatuses: z.array(z.int()).default([504]).describe('statuses that say the request was accepted and then lost upstream'),
  list: z.int().nonnegative().default(20).describe('how many lost, hung and slowest requests the details name'),
  hold: Duration.prefault(0).describe(
    'via gateway, with a body: send the first byte of each body at once and the rest this much later, so the request is in flight at the server that long',
  ),
  services: z.array(z.string()).optional().describe('services whose task stops count as stops (default: every service)'),
  watchLameDuck: z.boolean().default(true).describe("count each NATS server's lame-duck eviction as a stop (one observer connection per server)"),
  stopPoll: Duration.prefault('250ms').describe('how often the task list is read to see a task leave service before its stop'),
  minInFlightAtStop: z
    .int()
    .nonnegative()
    .default(1)
    .describe('a stop with fewer of the probe’s requests in flight than this — or no stop at all — leaves the verdict inconclusive (0: never)'),
})
type P = z.infer<typeof Params>

export type DrainOutcome = 'ok' | 'retryable' | 'failed' | 'lost' | 'timedOut'

/** What one request saw, before judging it. */
export interface Attempt {
  /** HTTP status, or a NATS service error code (Nats-Service-Error-Code); absent for a plain NATS reply */
  status?: number
  /** a transport or client error */
  error?: { code?: string; name?: string; message?: string }
  /** the request reached the server: handed to the transport completely (HTTP: written; NATS: published), or — held — its head and first bytes sent */
  written: boolean
  /** a response had started (HTTP headers, a NATS reply) */
  responded: boolean
  /** the budget ran out first */
  timedOut: boolean
}

export interface Classified {
  outcome: DrainOutcome
  /** short cause: http-503, refused, reset, hang-up, no-responders, timeout, … */
  cause: string
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED'])

/** Judges one request. Pure: the heart of the probe, tested on its own. */
export function classifyAttempt(a: Attempt, p: { retryableStatuses: number[]; lostStatuses: number[] }): Classified {
  if (a.timedOut) return { outcome: 'timedOut', cause: a.responded ? 'timeout-mid-response' : 'timeout' }
  const e = a.error
  if (e) {
    const code = e.code ?? ''
    const name = e.name ?? ''
    if (code === 'ECONNREFUSED') return { outcome: 'retryable', cause: 'refused' }
    if (name === 'NoRespondersError' || /no responders/i.test(e.message ?? '')) return { outcome: 'retryable', cause: 'no-responders' }
    if (name === 'TimeoutError' || code === 'ETIMEDOUT') return { outcome: 'timedOut', cause: 'timeout' }
    if (name === 'ClosedConnectionError' || name === 'DrainingConnectionError') return { outcome: 'retryable', cause: 'client-closed' }
    // nothing left the client: the caller knows it was not sent and can send it again
    if (!a.written) return { outcome: 'retryable', cause: `not-sent${code ? `:${code}` : ''}` }
    if (a.responded) return { outcome: 'lost', cause: 'response-cut' }
    if (RESET_CODES.has(code)) return { outcome: 'lost', cause: /hang up/i.test(e.message ?? '') ? 'hang-up' : 'reset' }
    return { outcome: 'lost', cause: code || name || 'error' }
  }
  const status = a.status
  if (status === undefined || status === 0) return { outcome: 'ok', cause: 'ok' }
  if (p.lostStatuses.includes(status)) return { outcome: 'lost', cause: `http-${status}` }
  if (p.retryableStatuses.includes(status)) return { outcome: 'retryable', cause: `http-${status}` }
  if (status < 400) return { outcome: 'ok', cause: 'ok' }
  return { outcome: 'failed', cause: `http-${status}` }
}

/** One request from send to outcome. */
export interface RequestRecord {
  seq: number
  id: string
  /** epoch ms when it was sent */
  sentAt: number
  /** ms from send to outcome */
  ms: number
  outcome: DrainOutcome
  cause: string
  status?: number
}

/** One reconnection of a probe-owned NATS connection. */
export interface Reconnection {
  client: number
  from: string
  to: string
  /** the server announced lame duck mode before the disconnect */
  ldm: boolean
  disconnectAt: string
  reconnectAt: string
  /** disconnect → reconnect */
  reconnectMs: number
  /** lame-duck notice → reconnect */
  sinceLdmMs?: number
}

const OUTCOMES: DrainOutcome[] = ['ok', 'retryable', 'failed', 'lost', 'timedOut']

/** Metrics and details from the records. Pure. Key figures first: reports show the first dozen. */
export function summarize(
  records: RequestRecord[],
  reconnections: Reconnection[] | undefined,
  list = 20,
): { metrics: Metrics; details: { [key: string]: Json } } {
  const count = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<DrainOutcome, number>
  const causes = new Map<string, number>()
  for (const r of records) {
    count[r.outcome]++
    if (r.outcome !== 'ok') causes.set(`${r.outcome}.${r.cause}`, (causes.get(`${r.outcome}.${r.cause}`) ?? 0) + 1)
  }
  const answered = records.filter((r) => r.outcome !== 'timedOut')
  const slowest = [...answered].sort((a, b) => b.ms - a.ms)
  const reconnectMs = (reconnections ?? []).map((r) => r.reconnectMs)
  const metrics: Metrics = {
    lost: count.lost,
    hung: count.timedOut,
    failed: count.failed,
    requests: records.length,
    ok: count.ok,
    retryable: count.retryable,
    timedOut: count.timedOut,
    slowestMs: slowest.length ? slowest[0].ms : NaN,
    // reconnection figures when the probe owns NATS connections (via: nats)
    ...(reconnections
      ? {
          reconnects: reconnections.length,
          reconnectMaxMs: reconnectMs.length ? Math.max(...reconnectMs) : NaN,
          reconnectMeanMs: reconnectMs.length ? reconnectMs.reduce((a, b) => a + b, 0) / reconnectMs.length : NaN,
        }
      : {}),
    answeredRate: records.length ? (count.ok + count.retryable + count.failed) / records.length : NaN,
  }
  for (const [cause, n] of [...causes.entries()].sort()) metrics[cause] = n
  const show = (r: RequestRecord) => ({
    id: r.id,
    sentAt: new Date(r.sentAt).toISOString(),
    outcome: r.outcome,
    cause: r.cause,
    ms: Math.round(r.ms),
    ...(r.status !== undefined ? { status: r.status } : {}),
  })
  const details: { [key: string]: Json } = {
    outcomes: count,
    causes: Object.fromEntries(causes),
    lost: records
      .filter((r) => r.outcome === 'lost')
      .slice(0, list)
      .map(show),
    hung: records
      .filter((r) => r.outcome === 'timedOut')
      .slice(0, list)
      .map(show),
    failed: records
      .filter((r) => r.outcome === 'failed')
      .slice(0, Math.min(list, 10))
      .map(show),
    slowest: slowest.slice(0, Math.min(list, 10)).map(show),
    ...(reconnections ? { reconnections: reconnections as unknown as Json } : {}),
  }
  return { metrics, details }
}

/** A probe-owned NATS connection; `leaving` from its server's lame-duck notice until it has reconnected. */
interface Client {
  nc: NatsConnection
  index: number
  leaving: boolean
  /** disconnects seen so far: a request that spans one lost its reply with the connection */
  drops: number
}

function natsError(err: unknown): Attempt['error'] {
  const e = err as Error & { code?: string }
  if (err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders())) return { name: 'NoRespondersError', message: e.message }
  if (err instanceof TimeoutError || (err instanceof RequestError && e.cause instanceof TimeoutError)) return { name: 'TimeoutError', message: e.message }
  if (err instanceof ClosedConnectionError) return { name: 'ClosedConnectionError', message: e.message }
  if (err instanceof DrainingConnectionError) return { name: 'DrainingConnectionError', message: e.message }
  return { name: e?.name ?? 'Error', code: e?.code, message: e?.message ?? String(err) }
}

/** The list started at its `by`-th element (wrapping): where a client's first attempt goes. */
function rotate<T>(list: readonly T[], by: number): T[] {
  if (!list.length) return []
  const k = by % list.length
  return [...list.slice(k), ...list.slice(0, k)]
}

export const drain = defineProbe<P>({
  type: 'drain',
  description: 'tracks every request by id through stops, restarts and lame ducks: lost, hung, retryable, ok; NATS reconnection times',
  params: Params,
  metrics: {
    lost: { unit: 'count', description: 'requests that were accepted and never answered (reset, dropped)' },
    hung: { unit: 'count', description: 'requests with no answer within the timeout' },
    failed: { unit: 'count', description: 'requests answered with an error that is not retryable' },
    inFlightAtStop: { unit: 'count', description: "the probe's requests in flight at the stops, summed: the evidence a drain verdict rests on" },
    stops: { unit: 'count', description: 'stops seen while the probe ran: task SIGTERMs and exits, NATS lame-duck evictions' },
    leastInFlightAtStop: { unit: 'count', description: 'the fewest requests in flight at any one stop' },
    'inFlightAtStop.*': { unit: 'count', description: 'requests in flight at one stop, by task or server (gateway-1, n3)' },
    requests: { unit: 'count', description: 'requests sent' },
    ok: { unit: 'count', description: 'requests answered' },
    retryable: { unit: 'count', description: 'refused before any work (503, no responders): safe to retry' },
    timedOut: { unit: 'count', description: 'same as hung' },
    'lost.*': { unit: 'count', description: 'lost requests by cause' },
    'retryable.*': { unit: 'count', description: 'retryable answers by cause' },
    'failed.*': { unit: 'count', description: 'failures by cause' },
    'timedOut.*': { unit: 'count', description: 'hung requests by cause' },
    slowestMs: { unit: 'ms', description: 'slowest answered request' },
    reconnects: { unit: 'count', description: 'NATS reconnections of the probe (via: nats)' },
    reconnectMaxMs: { unit: 'ms', description: 'longest reconnection' },
    reconnectMeanMs: { unit: 'ms', description: 'mean reconnection' },
    answeredRate: { unit: 'ratio', description: 'answered (ok, retryable or failed) / requests' },
    connections: { unit: 'count', description: 'NATS connections used (via: nats)' },
    notSent: { unit: 'count', description: 'requests the generator could not send (client overload)' },
    p50: LOAD_METRICS.p50,
    p99: LOAD_METRICS.p99,
    max: LOAD_METRICS.max,
    successRate: LOAD_METRICS.successRate,
    achievedRate: LOAD_METRICS.achievedRate,
    rps: LOAD_METRICS.rps,
    inFlight: LOAD_METRICS.inFlight,
    scheduleLagP90: LOAD_METRICS.scheduleLagP90,
    loopDelayP90: LOAD_METRICS.loopDelayP90,
  },
  defaultTolerance: ['lost == 0', 'hung == 0'],
  async create(ctx, p): Promise<Probe> {
    const records: RequestRecord[] = []
    const reconnections: Reconnection[] = []
    const clients: Client[] = []
    let load: OpenLoopLoad | undefined
    let closeHttp = () => {}
    const counts = { lost: 0, hung: 0 }
    // unique across runs, so an id found in a service's logs leads back to this run's request
    const tag = randomBytes(3).toString('hex')
    const idOf = (seq: number) => `${ctx.name}-${ctx.phase}-${tag}-${String(seq).padStart(6, '0')}`

    const watch = async (c: Client) => {
      let ldmAt: number | undefined
      let disconnectAt: number | undefined
      let from = ''
      for await (const s of c.nc.status()) {
        const now = Date.now()
        if (s.type === 'ldm') {
          ldmAt ??= now
          c.leaving = true
        } else if (s.type === 'disconnect') {
          c.drops++
          disconnectAt ??= now
          from = s.server
        } else if (s.type === 'reconnect') {
          c.leaving = false
          if (disconnectAt === undefined) continue
          const r: Reconnection = {
            client: c.index,
            from,
            to: s.server,
            ldm: ldmAt !== undefined,
            disconnectAt: new Date(disconnectAt).toISOString(),
            reconnectAt: new Date(now).toISOString(),
            reconnectMs: now - disconnectAt,
            ...(ldmAt !== undefined ? { sinceLdmMs: now - ldmAt } : {}),
          }
          reconnections.push(r)
          ctx.evidence('nats.reconnect', {
            ...r,
            summary: `client ${c.index}: ${r.from} → ${r.to} in ${r.reconnectMs}ms${r.ldm ? ` (${r.sinceLdmMs}ms after the lame-duck notice)` : ''}`,
          } as unknown as Json)
          ldmAt = disconnectAt = undefined
        }
      }
    }

    const open = async (): Promise<Client> => {
      const index = clients.length
      const nc = await connect({
        // client i dials server i first (then the others, in order): the clients are spread over
        // every node for sure, so a fault on any one node meets some of them (random placement
        // left a node with none in about a quarter of runs of 6 clients on 5 nodes)
        servers: rotate(ctx.env.endpoints.natsServers(p.cluster), index),
        noRandomize: true,
        name: `gameday-drain-${ctx.name}-${index}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        reconnectJitter: 100,
        ...(ctx.env.endpoints.natsOptions?.(p.cluster) ?? {}),
      })
      const c: Client = { nc, index, leaving: false, drops: 0 }
      clients.push(c)
      // the status iterator ends with the connection; every reconnect it saw is already recorded
      void watch(c).catch(() => {})
      return c
    }
    let opening: Promise<Client> | undefined
    /**
     * The connection for request `seq`. Lame-duck aware, as a good SDK is: once its server has
     * announced lame duck, a connection takes no new request (what it carries finishes within
     * the server's grace); when every connection is leaving, a new one is made before the break.
     */
    const clientFor = async (seq: number): Promise<Client> => {
      if (!p.lameDuckAware) return clients[seq % p.clients]
      const staying = clients.filter((c) => !c.leaving && !c.nc.isClosed())
      if (staying.length) return staying[seq % staying.length]
      if (clients.length >= p.clients * 3) return clients[clients.length - 1]
      opening ??= open().finally(() => (opening = undefined))
      return opening
    }

    const stopWatch = new StopWatch(ctx, {
      ...(p.services ? { services: p.services } : {}),
      ...(p.watchLameDuck ? { cluster: p.cluster } : {}),
      pollMs: p.stopPoll,
    })

    const makeSender = async (): Promise<Sender> => {
      if (p.via === 'gateway') {
        // without keepAlive: no agent, a fresh connection per request (connection: close)
        const http = httpSender(gatewayHttp(ctx.env, p.keepAlive ? { keepAlive: true, maxSockets: 256 } : false), p)
        closeHttp = http.close
        return http.send
      }
      for (let i = 0; i < p.clients; i++) await open()
      const payload = Buffer.from(p.payload, 'base64')
      const timeout = p.timeout
      return async (seq, id) => {
        const c = await clientFor(seq)
        const { nc } = c
        const dropsBefore = c.drops
        const h = natsHeaders()
        h.set('X-Request-Id', id)
        try {
          const reply = await nc.request(p.subject, payload, { timeout, headers: h })
          const code = Number(reply.headers?.get('Nats-Service-Error-Code') || 0)
          return { written: true, responded: true, timedOut: false, ...(code ? { status: code } : {}) }
        } catch (err) {
          // nats.js buffers a publish while reconnecting: a request that errs was handed over, unless the client refused it
          const error = natsError(err)
          if (error?.name === 'TimeoutError' && c.drops !== dropsBefore)
            return {
              written: true,
              responded: false,
              timedOut: false,
              error: { code: 'disconnect', message: 'the connection dropped while the request awaited its reply' },
            }
          return { written: error?.name !== 'ClosedConnectionError' && error?.name !== 'DrainingConnectionError', responded: false, timedOut: false, error }
        }
      }
    }

    const start = async () => {
      const sender = await makeSender()
      await stopWatch.start()
      const send = async (seq: number): Promise<Outcome> => {
        const id = idOf(seq)
        const sentAt = Date.now()
        const t0 = performance.now()
        const attempt = await sender(seq, id).catch((err: Error): Attempt => ({
          written: false,
          responded: false,
          timedOut: false,
          error: { name: err.name, message: err.message },
        }))
        const { outcome, cause } = classifyAttempt(attempt, p)
        records.push({ seq, id, sentAt, ms: performance.now() - t0, outcome, cause, ...(attempt.status !== undefined ? { status: attempt.status } : {}) })
        if (outcome === 'lost') counts.lost++
        if (outcome === 'timedOut') counts.hung++
        return outcome === 'ok' ? { ok: true } : { ok: false, errorClass: `${outcome}.${cause}` }
      }
      load = new OpenLoopLoad({ rate: p.rate, send })
      load.start()
    }

    const stop = async (): Promise<ProbeResult> => {
      await load!.stop()
      records.sort((a, b) => a.seq - b.seq)
      const { metrics: counted, details } = summarize(records, p.via === 'nats' ? reconnections : undefined, p.list)
      // what the verdict rests on: requests in flight at each stop
      const evidence = stopEvidence(records, await stopWatch.stop(), p.minInFlightAtStop)
      for (const s of evidence.stops) ctx.evidence('drain.stop', { ...s, summary: `${ctx.name}: ${describeStop(s)}` } as unknown as Json)
      // key figures first: reports show the first dozen
      const { lost: lostCount, hung, failed, ...rest } = counted
      const metrics: Metrics = { lost: lostCount, hung, failed, ...evidence.metrics, ...rest }
      details.stops = evidence.stops as unknown as Json
      const lm = load!.metrics()
      if (p.via === 'nats') metrics.connections = clients.length
      // latency percentiles of successful requests from the open-loop load (measured from the intended send)
      for (const k of ['p50', 'p99', 'max'] as const) metrics[k] = lm[k]
      metrics.successRate = lm.successRate
      metrics.achievedRate = lm.achievedRate
      if (typeof lm['errors.client-overload'] === 'number') metrics.notSent = lm['errors.client-overload']
      metrics.scheduleLagP90 = lm.scheduleLagP90
      metrics.loopDelayP90 = lm.loopDelayP90
      const file = ctx.artifactPath('requests.jsonl')
      await new Promise<void>((resolve) => {
        const out = createWriteStream(file)
        out.on('error', () => resolve())
        for (const r of records) out.write(JSON.stringify({ ...r, sentAt: new Date(r.sentAt).toISOString(), ms: Math.round(r.ms * 10) / 10 }) + '\n')
        out.end(() => resolve())
      })
      details.requestsFile = file
      const lost = details.lost as { id: string; sentAt: string; cause: string }[]
      if (lost.length)
        ctx.log.warn(
          `  drain ${ctx.name}: ${metrics.lost} lost request(s), first: ${lost
            .slice(0, 5)
            .map((r) => `${r.id} sent ${r.sentAt} (${r.cause})`)
            .join(', ')}`,
        )
      if (evidence.inconclusive.length) ctx.log.warn(`  drain ${ctx.name}: inconclusive — ${evidence.inconclusive.join('; ')}`)
      return { metrics, series: load!.series(), details, ...(evidence.inconclusive.length ? { inconclusive: evidence.inconclusive } : {}) }
    }

    return {
      start,
      stop,
      snapshot: () => (load ? { ...load.lastSecond(), ...counts } : {}),
      async run() {
        await start()
        await sleepUnlessAborted(p.duration, ctx.signal)
        return stop()
      },
      async close() {
        closeHttp()
        await stopWatch.close()
        // start() already reported a connection that could not open; here we only release what did
        await opening?.catch(() => undefined)
        // releasing a connection that may already be closed
        await Promise.all(clients.map((c) => c.nc.close().catch(() => {})))
      },
    }
  },
})
