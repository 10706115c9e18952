/**
 * The HTTP→NATS gateway: JSON over HTTP outside, protobuf request-reply over NATS inside.
 *
 *   GET  /healthz                    200 while the process lives (liveness)
 *   GET  /readyz                     200 when connected to NATS and not draining, else 503
 *   GET  /v1/inventory/:playerId     → inventory.get
 *   GET  /v1/players/:id/state       → player-state.get
 *   PUT  /v1/players/:id/state       → player-state.update   body { state, expectedVersion? }
 *   POST /v1/ai/recommend            → ai-integration.recommend   body { playerId, context? }
 *
 * NATS outcomes → HTTP: no responders 503, timeout (REQUEST_TIMEOUT_MS) 504, service error → its
 * code (Nats-Service-Error-Code: 400/404/409/500…), anything else 502. Every response carries
 * `x-request-id` (the caller's, or a new one), also sent to the service as a NATS header.
 * Error bodies: `{ error: { code, message }, requestId, currentVersion? }`.
 *
 * SIGTERM: not ready at once, no new connections, requests arriving on kept-alive sockets get
 * 503 + `connection: close`, in-flight requests finish, then `nc.drain()`, within STOP_GRACE_MS.
 * NATS lame duck: new requests move to a new connection at once, the old one is drained.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf'
import { headers as natsHeaders, NoRespondersError, RequestError, TimeoutError, type Msg, type NatsConnection } from '@nats-io/transport-node'
import { ErrorDetailSchema } from '../gen/gameday/v1/common_pb.ts'
import { GetInventoryRequestSchema, GetInventoryResponseSchema } from '../gen/gameday/v1/inventory_pb.ts'
import {
  GetPlayerStateRequestSchema,
  GetPlayerStateResponseSchema,
  UpdatePlayerStateRequestSchema,
  UpdatePlayerStateResponseSchema,
} from '../gen/gameday/v1/player_state_pb.ts'
import { RecommendRequestSchema, RecommendResponseSchema } from '../gen/gameday/v1/ai_integration_pb.ts'
import { parseTaskEnv, type TaskEnv } from './lib/env.ts'
import { createLogger, throttled, type Logger } from './lib/log.ts'
import { connectNats, type ConnectionState } from './lib/nats.ts'
import { fatal, InFlight, installCrashHandlers, installGracefulStop } from './lib/lifecycle.ts'
import { REQUEST_ID_HEADER } from './lib/service.ts'

const MAX_BODY_BYTES = 128 * 1024
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/

/** An HTTP answer decided before or instead of calling a service. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message)
  }
}

interface Ctx {
  requestId: string
  env: TaskEnv
  nc: NatsConnection
}

type Handler = (req: IncomingMessage, params: string[], ctx: Ctx) => Promise<unknown>

interface Route {
  method: string
  pattern: RegExp
  handle: Handler
}

/** One NATS request-reply with protobuf in and out, NATS failures turned into HttpErrors. */
async function call<I extends DescMessage, O extends DescMessage>(
  ctx: Ctx,
  subject: string,
  input: I,
  value: Omit<MessageShape<I>, '$typeName' | '$unknown'>,
  output: O,
): Promise<MessageShape<O>> {
  const h = natsHeaders()
  h.set(REQUEST_ID_HEADER, ctx.requestId)
  let reply: Msg
  try {
    reply = await ctx.nc.request(subject, toBinary(input, create(input, value as never)), { timeout: ctx.env.requestTimeoutMs, headers: h })
  } catch (err) {
    throw natsFailure(subject, err)
  }
  const code = reply.headers?.get('Nats-Service-Error-Code')
  if (code) {
    const status = Number(code)
    let message = reply.headers?.get('Nats-Service-Error') || `${subject} failed`
    const extra: Record<string, unknown> = {}
    try {
      const detail = fromBinary(ErrorDetailSchema, reply.data)
      if (detail.message) message = detail.message
      if (detail.currentVersion !== undefined) extra.currentVersion = Number(detail.currentVersion)
    } catch {
      // a body that is not an ErrorDetail: keep the header's message
    }
    throw new HttpError(Number.isInteger(status) && status >= 400 && status <= 599 ? status : 502, message, extra)
  }
  try {
    return fromBinary(output, reply.data)
  } catch (err) {
    throw new HttpError(502, `bad reply from ${subject}: ${err instanceof Error ? err.message : String(err)}`)
  }
}

export function natsFailure(subject: string, err: unknown): HttpError {
  if (err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders())) {
    return new HttpError(503, `no responders for ${subject}`, { reason: 'no-responders' })
  }
  if (err instanceof TimeoutError) return new HttpError(504, `${subject} timed out`, { reason: 'timeout' })
  return new HttpError(502, `${subject} failed: ${err instanceof Error ? err.message : String(err)}`, { reason: 'nats' })
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new HttpError(400, 'body must be JSON')
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'body must be a JSON object')
  return body as Record<string, unknown>
}

const routes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/v1\/inventory\/([^/]+)$/,
    async handle(_req, [playerId], ctx) {
      const res = await call(ctx, 'inventory.get', GetInventoryRequestSchema, { playerId: playerId! }, GetInventoryResponseSchema)
      return {
        playerId: res.playerId,
        items: res.items.map((i) => ({ sku: i.sku, name: i.name, quantity: i.quantity })),
        gold: Number(res.gold),
        servedBy: res.servedBy,
      }
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/players\/([^/]+)\/state$/,
    async handle(_req, [playerId], ctx) {
      const res = await call(ctx, 'player-state.get', GetPlayerStateRequestSchema, { playerId: playerId! }, GetPlayerStateResponseSchema)
      return { playerId: res.playerId, state: res.state, version: Number(res.version), servedBy: res.servedBy }
    },
  },
  {
    method: 'PUT',
    pattern: /^\/v1\/players\/([^/]+)\/state$/,
    async handle(req, [playerId], ctx) {
      const body = await readJson(req)
      if (typeof body.state !== 'string') throw new HttpError(400, '"state" must be a string')
      const expected = body.expectedVersion
      if (expected !== undefined && expected !== null && !(Number.isSafeInteger(expected) && (expected as number) >= 0)) {
        throw new HttpError(400, '"expectedVersion" must be a non-negative integer when present')
      }
      const res = await call(
        ctx,
        'player-state.update',
        UpdatePlayerStateRequestSchema,
        {
          playerId: playerId!,
          state: body.state,
          ...(typeof expected === 'number' ? { expectedVersion: BigInt(expected) } : {}),
        },
        UpdatePlayerStateResponseSchema,
      )
      return { playerId: res.playerId, version: Number(res.version), servedBy: res.servedBy }
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/ai\/recommend$/,
    async handle(req, _params, ctx) {
      const body = await readJson(req)
      if (typeof body.playerId !== 'string') throw new HttpError(400, '"playerId" must be a string')
      if (body.context !== undefined && typeof body.context !== 'string') throw new HttpError(400, '"context" must be a string')
      const res = await call(
        ctx,
        'ai-integration.recommend',
        RecommendRequestSchema,
        { playerId: body.playerId, context: (body.context as string | undefined) ?? '' },
        RecommendResponseSchema,
      )
      return { playerId: res.playerId, items: res.items, source: res.source, degraded: res.degraded, breaker: res.breaker, servedBy: res.servedBy }
    },
  },
]

function send(res: ServerResponse, status: number, body: unknown, closing: boolean): void {
  if (res.headersSent) return
  const text = JSON.stringify(body)
  res.statusCode = status
  res.setHeader('content-type', 'application/json')
  res.setHeader('content-length', Buffer.byteLength(text))
  if (closing) res.setHeader('connection', 'close')
  res.end(text)
}

/**
 * Resolves on the response's 'close': after its 'finish', once Node has handed the socket to
 * the next response pipelined behind it. (`writableFinished` turns true earlier, before that
 * hand-over: ending the socket then would lose the queued response.)
 */
function finished(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve()
  return new Promise((resolve) => res.once('close', () => resolve()))
}

async function main(): Promise<void> {
  let env: TaskEnv
  try {
    env = parseTaskEnv(process.env, { service: 'gateway' })
  } catch (err) {
    return fatal(createLogger({ service: 'gateway', task: process.env.TASK_ID ?? String(process.pid) }), err)
  }
  const log: Logger = createLogger({ service: env.service, task: env.taskId })
  installCrashHandlers(log)
  const inFlight = new InFlight()
  const upstreamTrouble = throttled(2_000)
  let nc: NatsConnection | undefined
  let connection: ConnectionState = { connected: false }
  let draining = false
  let rejectedWhileDraining = 0

  const ready = () => !draining && nc !== undefined && connection.connected && !nc.isClosed() && !nc.isDraining()

  const server = createServer((req, res) => {
    const given = req.headers['x-request-id']
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    res.setHeader('x-request-id', requestId)
    const path = (req.url ?? '/').split('?')[0]!

    if (req.method === 'GET' && path === '/healthz') return send(res, 200, { status: 'alive', task: env.taskId }, draining)
    if (req.method === 'GET' && path === '/readyz') {
      const ok = ready()
      return send(res, ok ? 200 : 503, { ready: ok, nats: connection.connected, draining, task: env.taskId }, draining)
    }
    if (draining) {
      rejectedWhileDraining++
      req.resume()
      return send(res, 503, { error: { code: 503, message: 'draining' }, requestId }, true)
    }
    const candidates = routes.filter((r) => r.pattern.test(path))
    if (candidates.length === 0) return send(res, 404, { error: { code: 404, message: `no route for ${path}` }, requestId }, false)
    const route = candidates.find((r) => r.method === req.method)
    if (!route) {
      res.setHeader('allow', candidates.map((r) => r.method).join(', '))
      return send(res, 405, { error: { code: 405, message: `${req.method} not allowed on ${path}` }, requestId }, false)
    }
    const params = route.pattern
      .exec(path)!
      .slice(1)
      .map((p) => {
        try {
          return decodeURIComponent(p)
        } catch {
          return p
        }
      })
    void inFlight.track(async () => {
      try {
        if (!nc) throw new HttpError(503, 'not connected to NATS yet', { reason: 'starting' })
        const body = await route.handle(req, params, { requestId, env, nc })
        // In-flight work answers normally even while draining: a request pipelined behind it
        // on the same socket then gets its own 503 + connection: close instead of being dropped.
        send(res, 200, body, false)
        await finished(res)
      } catch (err) {
        const e = err instanceof HttpError ? err : new HttpError(500, err instanceof Error ? err.message : String(err))
        if (e.status >= 500) {
          upstreamTrouble(`${e.status} ${path.split('/')[2] ?? ''}`, (suppressed) =>
            log('upstream-error', { status: e.status, message: e.message, method: req.method, path, requestId, suppressed }),
          )
        }
        send(res, e.status, { error: { code: e.status, message: e.message }, requestId, ...e.extra }, false)
        await finished(res)
      }
    })
  })
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n')
    else socket.destroy()
  })

  /**
   * Lame duck: the server has said it will close this connection after its grace period, and
   * replies in flight on it when it does are lost. Make before break: a new connection takes
   * the new requests at once, and the old one is drained once the requests it carries have had
   * their time (the request timeout, shorter than the server's grace).
   */
  const handOverOnLameDuck = (current: NatsConnection): void => {
    // GAMEDAY_BROKEN=no-lame-duck-handover: stay on the leaving server until it evicts us
    if (env.broken.has('no-lame-duck-handover')) return
    void (async () => {
      for await (const s of current.status()) {
        if (s.type !== 'ldm' || draining || current !== nc) continue
        log('nats-handover', { from: s.server })
        const next = await connectNats(env, log)
        if (draining) return void (await next.nc.close())
        nc = next.nc
        connection = next.state
        handOverOnLameDuck(next.nc)
        await delay(env.requestTimeoutMs + 100)
        await current.drain()
        return
      }
    })().catch((err) => log.error('nats-handover-failed', err))
  }

  let serverClosed: Promise<void> = Promise.resolve()
  installGracefulStop(env, log, inFlight, {
    stopAccepting() {
      draining = true
      // resolves when every connection has ended; closes idle keep-alive sockets right away
      serverClosed = new Promise((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
    },
    async release() {
      // End the remaining sockets gracefully: `end()` flushes what is queued (a 503 pipelined
      // behind the last in-flight response) before the FIN, where closeIdleConnections()
      // would destroy it. Whatever has not closed after a short wait is cut.
      log('http-closing', { openSockets: sockets.size, rejectedWhileDraining })
      for (const socket of sockets) socket.end()
      await Promise.race([serverClosed, delay(500)])
      server.closeAllConnections()
      if (nc && !nc.isClosed()) await nc.drain()
    },
  })

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(env.port, env.raw.HOST || '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
    log('listening', { port: env.port })
    const connected = await connectNats(env, log)
    nc = connected.nc
    connection = connected.state
    handOverOnLameDuck(connected.nc)
    if (draining) return
    log('ready', { port: env.port, requestTimeoutMs: env.requestTimeoutMs, az: env.az, ...(env.broken.size ? { broken: [...env.broken] } : {}) })
  } catch (err) {
    fatal(log, err)
  }
}

await main()
