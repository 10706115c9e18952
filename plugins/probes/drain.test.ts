import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { connect, headers as natsHeaders } from '@nats-io/transport-node'
import { classifyAttempt, drain, summarize, type Attempt, type RequestRecord } from './drain.ts'
import { describeStop, inFlightAt, stopEvidence, taskStops } from './drain/stops.ts'
import type { Probe } from '../../src/api/probe.ts'
import { freePort } from '../../src/util/ports.ts'
import { sleep } from '../../src/util/abort.ts'
import { startNatsServer, type TestServer } from '../../test/support/servers.ts'
import { lameDuckableCluster, probeContext, waitForResponder } from '../../test/lifecycle/support.ts'

const statuses = { retryableStatuses: [503], lostStatuses: [504] }
const attempt = (a: Partial<Attempt>): Attempt => ({ written: true, responded: false, timedOut: false, ...a })

describe('drain: judging one request', () => {
  it.each<[string, Partial<Attempt>, string, string]>([
    ['a 200', { responded: true, status: 200 }, 'ok', 'ok'],
    ['a plain NATS reply', { responded: true }, 'ok', 'ok'],
    ['a 503 (draining)', { responded: true, status: 503 }, 'retryable', 'http-503'],
    ['a 504 (the service never answered the gateway)', { responded: true, status: 504 }, 'lost', 'http-504'],
    ['a 500', { responded: true, status: 500 }, 'failed', 'http-500'],
    ['a 404', { responded: true, status: 404 }, 'failed', 'http-404'],
    ['connection refused', { written: false, error: { code: 'ECONNREFUSED' } }, 'retryable', 'refused'],
    ['no responders', { error: { name: 'NoRespondersError', message: '503' } }, 'retryable', 'no-responders'],
    ['an error before the request left', { written: false, error: { code: 'ENOTFOUND' } }, 'retryable', 'not-sent:ENOTFOUND'],
    ['a closed client', { written: false, error: { name: 'ClosedConnectionError' } }, 'retryable', 'client-closed'],
    ['a reset after the request was written', { error: { code: 'ECONNRESET', message: 'read ECONNRESET' } }, 'lost', 'reset'],
    ['a hang-up after the request was written', { error: { code: 'ECONNRESET', message: 'socket hang up' } }, 'lost', 'hang-up'],
    ['a response cut short', { responded: true, error: { code: 'ECONNRESET', message: 'aborted' } }, 'lost', 'response-cut'],
    ['an unknown error after the write', { error: { code: 'EWEIRD' } }, 'lost', 'EWEIRD'],
    ['no answer within the budget', { timedOut: true }, 'timedOut', 'timeout'],
    ['headers but no end within the budget', { responded: true, timedOut: true }, 'timedOut', 'timeout-mid-response'],
    ['a NATS request timeout', { error: { name: 'TimeoutError' } }, 'timedOut', 'timeout'],
    ['a NATS request whose connection dropped before its reply', { error: { code: 'disconnect' } }, 'lost', 'disconnect'],
  ])('%s → %s (%s)', (_what, a, outcome, cause) => {
    expect(classifyAttempt(attempt(a), statuses)).toEqual({ outcome, cause })
  })

  it('takes the retryable and lost statuses from the parameters', () => {
    expect(classifyAttempt(attempt({ responded: true, status: 429 }), { retryableStatuses: [429, 503], lostStatuses: [] })).toEqual({
      outcome: 'retryable',
      cause: 'http-429',
    })
    expect(classifyAttempt(attempt({ responded: true, status: 504 }), { retryableStatuses: [503], lostStatuses: [] })).toEqual({
      outcome: 'failed',
      cause: 'http-504',
    })
  })
})

describe('drain: metrics and details', () => {
  const rec = (seq: number, outcome: RequestRecord['outcome'], cause: string, ms = 10): RequestRecord => ({
    seq,
    id: `d-${seq}`,
    sentAt: Date.UTC(2026, 0, 1, 0, 0, seq),
    ms,
    outcome,
    cause,
  })
  const records = [
    rec(0, 'ok', 'ok', 12),
    rec(1, 'lost', 'reset', 3),
    rec(2, 'retryable', 'http-503', 2),
    rec(3, 'timedOut', 'timeout', 5000),
    rec(4, 'ok', 'ok', 250),
    rec(5, 'lost', 'http-504', 1000),
  ]

  it('counts per outcome and cause, key figures first', () => {
    const { metrics } = summarize(records, undefined)
    expect(metrics).toMatchObject({
      lost: 2,
      hung: 1,
      failed: 0,
      requests: 6,
      ok: 2,
      retryable: 1,
      timedOut: 1,
      slowestMs: 1000,
      'lost.reset': 1,
      'lost.http-504': 1,
      'retryable.http-503': 1,
    })
    expect(Object.keys(metrics).slice(0, 3)).toEqual(['lost', 'hung', 'failed'])
    expect(metrics.answeredRate).toBeCloseTo(3 / 6)
    expect(metrics).not.toHaveProperty('reconnects')
  })

  it('names the first lost and hung requests with their send time, and the slowest answers', () => {
    const { details } = summarize(records, undefined, 1)
    expect(details.lost).toEqual([{ id: 'd-1', sentAt: '2026-01-01T00:00:01.000Z', outcome: 'lost', cause: 'reset', ms: 3 }])
    expect((details.hung as { id: string }[]).map((r) => r.id)).toEqual(['d-3'])
    expect((details.slowest as { id: string }[])[0].id).toBe('d-5')
  })

  it('reports reconnection times when the probe owns NATS connections', () => {
    const r = (ms: number) => ({ client: 0, from: 'a', to: 'b', ldm: true, disconnectAt: '', reconnectAt: '', reconnectMs: ms, sinceLdmMs: ms + 2000 })
    expect(summarize([], [r(4), r(10)]).metrics).toMatchObject({ reconnects: 2, reconnectMaxMs: 10, reconnectMeanMs: 7 })
    expect(summarize([], []).metrics).toMatchObject({ reconnects: 0, reconnectMaxMs: NaN })
  })
})

// ---- the probe against real sockets ------------------------------------------------------

const cleanups: (() => Promise<unknown> | unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-drain-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(resolve)
      }),
  )
  const address = server.address() as { port: number }
  return `http://127.0.0.1:${address.port}`
}

async function runFor(probe: Probe, ms: number) {
  await probe.start!()
  await sleep(ms)
  const result = await probe.stop!()
  await probe.close?.()
  return result
}

const readRecords = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RequestRecord & { sentAt: string })

describe('drain over HTTP', () => {
  // the behaviour of request n is picked by n % 7
  const behaviours = ['ok', 'busy', 'gone', 'bad', 'reset', 'hang', 'cut'] as const
  const expected: Record<(typeof behaviours)[number], [string, string | RegExp]> = {
    ok: ['ok', 'ok'],
    busy: ['retryable', 'http-503'],
    gone: ['lost', 'http-504'],
    bad: ['failed', 'http-500'],
    reset: ['lost', /^(reset|hang-up)$/],
    hang: ['timedOut', 'timeout'],
    cut: ['lost', 'response-cut'],
  }

  it('tracks every request by id and judges resets, hangs, cut responses and statuses', async () => {
    const seen = new Map<number, { id: string; body: string }>()
    const server = createServer((req: IncomingMessage, res) => {
      const seq = Number(/\/r\/(\d+)/.exec(req.url ?? '')?.[1])
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => {
        seen.set(seq, { id: String(req.headers['x-request-id']), body })
        const b = behaviours[seq % behaviours.length]
        if (b === 'ok') res.end('{}')
        else if (b === 'busy') res.writeHead(503).end()
        else if (b === 'gone') res.writeHead(504).end()
        else if (b === 'bad') res.writeHead(500).end()
        else if (b === 'reset') req.socket.destroy()
        else if (b === 'cut') {
          res.writeHead(200, { 'content-length': '100' })
          res.write('{"partial":')
          setTimeout(() => req.socket.destroy(), 20)
        }
        // hang: never answer
      })
    })
    const url = await listen(server)
    const dir = tempDir()
    const ctx = probeContext({ gateway: () => url }, dir)
    const params = drain.params.parse({ via: 'gateway', method: 'POST', path: '/r/{seq}', body: '{"n":{seq}}', rate: 70, timeout: '400ms' })
    const result = await runFor(await drain.create(ctx, params), 1000)

    const records = readRecords(String((result.details as { requestsFile: string }).requestsFile))
    expect(records.length).toBeGreaterThanOrEqual(50)
    for (const r of records) {
      const [outcome, cause] = expected[behaviours[r.seq % behaviours.length]]
      expect(r.outcome, `request ${r.seq}`).toBe(outcome)
      expect(r.cause, `request ${r.seq}`).toMatch(cause)
      // the server saw that very request, by its id, with its body
      expect(seen.get(r.seq)).toEqual({ id: r.id, body: `{"n":${r.seq}}` })
    }
    const n = (b: (typeof behaviours)[number]) => records.filter((r) => behaviours[r.seq % behaviours.length] === b).length
    expect(result.metrics).toMatchObject({
      requests: records.length,
      ok: n('ok'),
      retryable: n('busy'),
      failed: n('bad'),
      lost: n('gone') + n('reset') + n('cut'),
      hung: n('hang'),
      timedOut: n('hang'),
    })
    const lost = (result.details as { lost: { id: string; sentAt: string }[] }).lost
    expect(lost[0].id).toMatch(/^drain-test-during-[0-9a-f]{6}-\d{6}$/)
    expect(Date.parse(lost[0].sentAt)).toBeGreaterThan(Date.now() - 60_000)
    expect(result.series?.length).toBeGreaterThan(0)
  })

  it('counts a refused connection as a clean, retryable refusal, not a loss', async () => {
    const port = await freePort()
    const ctx = probeContext({ gateway: () => `http://127.0.0.1:${port}` }, tempDir())
    const result = await runFor(await drain.create(ctx, drain.params.parse({ rate: 50, timeout: '1s' })), 400)
    expect(result.metrics.requests).toBeGreaterThan(10)
    expect(result.metrics).toMatchObject({ lost: 0, hung: 0, ok: 0, retryable: result.metrics.requests, 'retryable.refused': result.metrics.requests })
  })
})

describe('drain over NATS', () => {
  let nats: TestServer
  afterEach(async () => nats?.stop())

  it('judges replies, service errors, silence and no responders', async () => {
    nats = await startNatsServer({ jetstream: false })
    const responder = await connect({ servers: nats.url })
    cleanups.push(() => responder.close())
    // by the request number at the end of the id: answer, refuse with 503, or say nothing
    responder.subscribe('svc.get', {
      callback: (_err, msg) => {
        const seq = Number(msg.headers?.get('X-Request-Id').split('-').pop())
        if (seq % 3 === 0) msg.respond('ok')
        else if (seq % 3 === 1) {
          const h = natsHeaders()
          h.set('Nats-Service-Error-Code', '503')
          msg.respond('', { headers: h })
        }
      },
    })
    await responder.flush()
    const ctx = probeContext({ natsServers: () => [nats.url] }, tempDir())
    const result = await runFor(await drain.create(ctx, drain.params.parse({ via: 'nats', subject: 'svc.get', rate: 60, timeout: '300ms', clients: 2 })), 700)
    const records = readRecords(String((result.details as { requestsFile: string }).requestsFile))
    for (const r of records) expect(r.outcome, `request ${r.seq}`).toBe(['ok', 'retryable', 'timedOut'][r.seq % 3])
    expect(result.metrics).toMatchObject({ lost: 0, reconnects: 0 })

    const nobody = await runFor(await drain.create(ctx, drain.params.parse({ via: 'nats', subject: 'nobody.home', rate: 50, timeout: '1s' })), 300)
    expect(nobody.metrics.requests).toBeGreaterThan(5)
    expect(nobody.metrics).toMatchObject({ lost: 0, hung: 0, 'retryable.no-responders': nobody.metrics.requests })
  })
})

describe('drain: reconnections after a lame-duck eviction', () => {
  async function twoServers() {
    const cluster = await lameDuckableCluster(2)
    cleanups.push(() => cluster.stop())
    const [a, b] = cluster.servers
    const responder = await connect({ servers: b.url })
    cleanups.push(() => responder.close().catch(() => {}))
    responder.subscribe('svc.get', { callback: (_e, m) => void m.respond('ok') })
    await responder.flush()
    await waitForResponder(a.url, 'svc.get')
    return { a, b }
  }
  const port = (u: string) => u.split(':').pop()
  type R = { client: number; ldm: boolean; reconnectMs: number; sinceLdmMs: number; from: string; to: string }

  it('times each naive probe connection from the lame-duck notice and from the disconnect to the reconnect', async () => {
    const { a, b } = await twoServers()
    // the probe's clients know only a; they learn b from the cluster
    const ctx = probeContext({ natsServers: () => [a.url] }, tempDir())
    const probe = await drain.create(ctx, drain.params.parse({ via: 'nats', subject: 'svc.get', rate: 20, timeout: '2s', clients: 2, lameDuckAware: false }))
    await probe.start!()
    await sleep(300)
    await a.lameDuck()
    await sleep(300)
    const result = await probe.stop!()
    await probe.close!()
    const reconnections = (result.details as { reconnections: R[] }).reconnections
    expect(reconnections.map((r) => r.client).sort()).toEqual([0, 1])
    expect(result.metrics).toMatchObject({ reconnects: 2, connections: 2, reconnectMaxMs: Math.max(...reconnections.map((r) => r.reconnectMs)) })
    for (const r of reconnections) {
      expect(r).toMatchObject({ ldm: true })
      expect(port(r.from)).toBe(port(a.url))
      expect(port(r.to)).toBe(port(b.url))
      expect(r.sinceLdmMs).toBeGreaterThanOrEqual(400) // the server's grace period
      expect(r.reconnectMs).toBeLessThanOrEqual(r.sinceLdmMs)
    }
    expect(ctx.evidenceKinds.filter((k) => k === 'nats.reconnect')).toHaveLength(2)
  })

  it('lame-duck aware: after the notice no new request goes to the leaving server; a connection is made before the break', async () => {
    const { a, b } = await twoServers()
    // one client, on a first
    const ctx = probeContext({ natsServers: () => [a.url, b.url], natsOptions: () => ({ noRandomize: true }) }, tempDir())
    const probe = await drain.create(ctx, drain.params.parse({ via: 'nats', subject: 'svc.get', rate: 50, timeout: '2s', clients: 1 }))
    await probe.start!()
    await sleep(300)
    await a.lameDuck()
    await sleep(300)
    const result = await probe.stop!()
    await probe.close!()
    expect(result.metrics).toMatchObject({ lost: 0, hung: 0, retryable: 0, connections: 2 })
    expect(result.metrics.ok).toBe(result.metrics.requests)
    expect((result.details as { reconnections: R[] }).reconnections).toMatchObject([{ client: 0, ldm: true }])
    // the observer pinned to a saw it evict its clients: one stop; instant answers rarely leave anything in
    // flight there, and when nothing was, the verdict says so
    expect(result.metrics).toMatchObject({ stops: 1 })
    expect((result.details as { stops: unknown[] }).stops).toMatchObject([{ stop: 's1', kind: 'lame-duck' }])
    if (result.metrics['inFlightAtStop.s1'] === 0) expect(result.inconclusive?.[0]).toMatch(/s1 lame-duck eviction/)
  })

  it('slow answers are in flight when a server evicts its clients: the eviction is evidence', async () => {
    const cluster = await lameDuckableCluster(2)
    cleanups.push(() => cluster.stop())
    const [a, b] = cluster.servers
    const responder = await connect({ servers: b.url })
    cleanups.push(() => responder.close().catch(() => {}))
    // the probe's requests (a payload) take 200 ms; the readiness check's (none) are answered at once
    responder.subscribe('svc.slow', { callback: (_e, m) => void setTimeout(() => m.respond('ok'), m.data.length ? 200 : 0) })
    await responder.flush()
    await waitForResponder(a.url, 'svc.slow')
    const ctx = probeContext({ natsServers: () => [a.url, b.url], natsOptions: () => ({ noRandomize: true }) }, tempDir())
    const probe = await drain.create(ctx, drain.params.parse({ via: 'nats', subject: 'svc.slow', payload: 'AQ==', rate: 50, timeout: '2s', clients: 1 }))
    await probe.start!()
    await sleep(300)
    await a.lameDuck()
    await sleep(300)
    const result = await probe.stop!()
    await probe.close!()
    expect(result.metrics).toMatchObject({ lost: 0, hung: 0, stops: 1 })
    expect(result.metrics['inFlightAtStop.s1']).toBeGreaterThanOrEqual(5) // 50/s answered in 200 ms
    expect(result.inconclusive).toBeUndefined()
  })
})

// ---- evidence: requests in flight at each stop --------------------------------------------

describe('drain: requests in flight at each stop', () => {
  const T = Date.UTC(2026, 0, 1, 12, 0, 0)
  const req = (sentAt: number, ms: number) => ({ sentAt: T + sentAt, ms })

  it('counts a request sent before the stop and unanswered at it; one sent after the task left service does not count', () => {
    const records = [req(0, 50), req(100, 2000), req(900, 2000), req(1500, 10), req(1200, 2000)]
    expect(inFlightAt(records, { kind: 'sigterm', what: 'api-1', at: T + 1000 })).toBe(2) // 100 and 900
    // out of the balancer at +500: what came later went elsewhere
    expect(inFlightAt(records, { kind: 'sigterm', what: 'api-1', at: T + 1000, leftAt: T + 500 })).toBe(1)
    expect(inFlightAt(records, { kind: 'lame-duck', what: 'n1', at: T + 1300 })).toBe(3)
  })

  it('takes task stops from the lifecycle history, inside the window only, with what the task said', () => {
    const history = [
      {
        service: 'api',
        id: 'api-1',
        state: 'STOPPED',
        drainingAt: new Date(T + 1000).toISOString(),
        stoppedAt: new Date(T + 1200).toISOString(),
        stopReport: { event: 'stopped', inFlightAtStop: 3, drainedMs: 40 },
      },
      { service: 'api', id: 'api-2', state: 'STOPPED', stoppedAt: new Date(T + 2000).toISOString(), exitSignal: 'SIGKILL' },
      { service: 'api', id: 'api-0', state: 'STOPPED', drainingAt: new Date(T - 60_000).toISOString() },
      { service: 'api', id: 'api-3', state: 'RUNNING' },
    ]
    const stops = taskStops(history, new Map([['api-1', T + 400]]), T, T + 5000)
    expect(stops).toEqual([
      { kind: 'sigterm', what: 'api-1', service: 'api', at: T + 1000, leftAt: T + 400, taskReport: { inFlightAtStop: 3, drainedMs: 40 } },
      { kind: 'exit', what: 'api-2', service: 'api', at: T + 2000 },
    ])
  })

  it('is inconclusive when a stop met nothing in flight, or when nothing stopped, naming the stop', () => {
    const stops = [
      { kind: 'sigterm' as const, what: 'api-1', at: T + 1000 },
      { kind: 'lame-duck' as const, what: 'n1', at: T + 3000 },
      { kind: 'lame-duck' as const, what: 'n1', at: T + 4000 },
    ]
    const e = stopEvidence([req(900, 300), req(950, 300)], stops)
    expect(e.metrics).toEqual({
      inFlightAtStop: 2,
      stops: 3,
      leastInFlightAtStop: 0,
      'inFlightAtStop.api-1': 2,
      'inFlightAtStop.n1': 0,
      'inFlightAtStop.n1#2': 0,
    })
    expect(e.inconclusive).toHaveLength(1)
    expect(e.inconclusive[0]).toMatch(
      /fewer than 1 of the probe's requests were in flight at 2 of 3 stop\(s\): n1 lame-duck eviction at 12:00:03\.000 \(0\), n1#2/,
    )
    expect(stopEvidence([req(900, 300)], stops.slice(0, 1)).inconclusive).toEqual([])
    expect(stopEvidence([req(900, 300)], stops.slice(0, 1), 5).inconclusive[0]).toMatch(/fewer than 5/)
    expect(stopEvidence([req(900, 300)], []).inconclusive[0]).toMatch(/no stop was seen/)
    // 0: the experiment does not rest on stops (a reload under load), so none is not a lack of evidence
    expect(stopEvidence([req(900, 300)], [], 0).inconclusive).toEqual([])
    expect(describeStop(stopEvidence([req(400, 700)], [{ ...stops[0], leftAt: T + 500, taskReport: { inFlightAtStop: 4, dropped: 4 } }]).stops[0])).toBe(
      "api-1 SIGTERM at 12:00:01.000 (out of service from 12:00:00.500): 1 of the probe's requests in flight; the task said it held 4, dropped 4",
    )
  })
})

describe('drain: holding requests in flight through a stop (HTTP)', () => {
  /**
   * A server standing for one task of service `api`, behind a fake task control: `stopTask()`
   * marks the task draining (its SIGTERM) and then either lets what it holds finish (a drain)
   * or cuts every socket (no drain).
   */
  async function serviceWithStop(opts: { drains: boolean }) {
    const sockets = new Set<import('node:net').Socket>()
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => res.end(JSON.stringify({ got: body.length })))
    })
    server.on('connection', (s) => {
      sockets.add(s)
      s.once('close', () => sockets.delete(s))
    })
    const url = await listen(server)
    let drainingAt: string | undefined
    const tasks = {
      list: async () => [{ service: 'api', id: 'api-1', state: drainingAt ? 'DRAINING' : 'RUNNING' }],
      history: async () => [{ service: 'api', id: 'api-1', state: drainingAt ? 'STOPPED' : 'RUNNING', ...(drainingAt ? { drainingAt } : {}) }],
    }
    const env = { topology: () => ({ azs: [], clusters: {}, caches: {}, services: { api: { name: 'api', desired: 1 } } }), tasks } as never
    const stopTask = () => {
      drainingAt = new Date().toISOString()
      if (!opts.drains) for (const s of sockets) s.destroy()
    }
    return { url, env, stopTask }
  }
  const params = (hold: string) =>
    drain.params.parse({ via: 'gateway', method: 'POST', path: '/r/{seq}', body: '{"playerId":"p-{seq}"}', rate: 40, timeout: '3s', hold, stopPoll: '50ms' })

  it('a server that exits mid-request loses the held requests, and the probe counts what was in flight', async () => {
    const { url, env, stopTask } = await serviceWithStop({ drains: false })
    const ctx = probeContext({ gateway: () => url }, tempDir(), env)
    const probe = await drain.create(ctx, params('400ms'))
    await probe.start!()
    await sleep(700)
    stopTask()
    await sleep(200)
    const result = await probe.stop!()
    await probe.close!()
    expect(result.metrics.lost).toBeGreaterThanOrEqual(5)
    expect(Object.keys(result.metrics).filter((k) => k.startsWith('lost.'))).toEqual(expect.arrayContaining([expect.stringMatching(/^lost\.(hang-up|reset)$/)]))
    expect(result.metrics).toMatchObject({ stops: 1 })
    expect(result.metrics.inFlightAtStop).toBeGreaterThanOrEqual(result.metrics.lost as number)
    expect(result.inconclusive).toBeUndefined()
    expect(ctx.evidenceData.find((e) => e.kind === 'drain.stop')?.data).toMatchObject({ stop: 'api-1', kind: 'sigterm' })
  })

  it('a server that drains answers every held request', async () => {
    const { url, env, stopTask } = await serviceWithStop({ drains: true })
    const ctx = probeContext({ gateway: () => url }, tempDir(), env)
    const probe = await drain.create(ctx, params('400ms'))
    await probe.start!()
    await sleep(700)
    stopTask()
    const result = await probe.stop!()
    await probe.close!()
    expect(result.metrics).toMatchObject({ lost: 0, hung: 0, stops: 1 })
    expect(result.metrics.inFlightAtStop).toBeGreaterThanOrEqual(10) // 40/s held 400 ms
    expect(result.inconclusive).toBeUndefined()
  })

  it('fast requests meet nothing at the stop: the verdict is inconclusive, not a pass', async () => {
    const { url, env, stopTask } = await serviceWithStop({ drains: false })
    const ctx = probeContext({ gateway: () => url }, tempDir(), env)
    // one request every 500 ms, answered in about a millisecond: the stop falls between them
    const probe = await drain.create(ctx, drain.params.parse({ via: 'gateway', path: '/r/{seq}', rate: 2, timeout: '1s', stopPoll: '50ms' }))
    await probe.start!()
    await sleep(250)
    stopTask()
    await sleep(100)
    const result = await probe.stop!()
    await probe.close!()
    expect(result.metrics).toMatchObject({ lost: 0, stops: 1, inFlightAtStop: 0 })
    expect(result.inconclusive?.[0]).toMatch(/fewer than 1 of the probe's requests were in flight at 1 of 1 stop\(s\): api-1 SIGTERM/)
  })
})
