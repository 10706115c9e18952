import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { connect, headers as natsHeaders } from '@nats-io/transport-node'
import { classifyAttempt, drain, summarize, type Attempt, type RequestRecord } from './drain.ts'
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
  })
})
