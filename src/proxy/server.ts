/**
 * The fault proxy: a Toxiproxy-compatible HTTP admin API over a collection of proxies, usable
 * in-process (`FaultProxy.start()` and its methods, which mirror the routes) or standalone
 * (`runProxyCommand`, behind `gameday proxy`). A real Toxiproxy server can take its place: the
 * routes, JSON shapes, status codes and error bodies are Toxiproxy 2.x's.
 *
 *   GET  /proxies                       200 {name: proxy}
 *   POST /proxies                       201 proxy          (409 name taken, 400 bad body)
 *   POST /populate                      201 {proxies: [...]}
 *   GET  /proxies/{proxy}               200 proxy          (404)
 *   POST|PATCH /proxies/{proxy}         200 proxy          (enabled, listen, upstream)
 *   DELETE /proxies/{proxy}             204
 *   GET  /proxies/{proxy}/toxics        200 [toxic]
 *   POST /proxies/{proxy}/toxics        200 toxic          (as Toxiproxy: 200, not 201; 409, 400)
 *   GET|POST|PATCH|DELETE /proxies/{proxy}/toxics/{toxic}   200 / 200 / 204 (404)
 *   POST /reset                         204 (enable every proxy, remove every toxic)
 *   GET  /version                       200 {"version": ...}
 *   GET  /proxies/{proxy}/connections   200 [{client, upstreamLocal, upstream, since}]  (ours)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createRng } from '../util/rng.ts'
import { formatHostPort, isLoopback, parseHostPort } from './address.ts'
import { errors, FaultProxyError } from './errors.ts'
import type { ConnectionInfo } from './link.ts'
import { Proxy, type ProxyJson } from './proxy.ts'
import type { ToxicInput, ToxicJson, ToxicUpdate } from './toxics.ts'

/** the Toxiproxy API level this speaks */
export const VERSION = '2.12.0-gameday'
export const DEFAULT_ADMIN_LISTEN = '127.0.0.1:8474'
const MAX_BODY_BYTES = 1 << 20

export interface FaultProxyOptions {
  /** admin API address, `host:port` (port 0 picks a free one); default 127.0.0.1:8474 */
  listen?: string
  /** allow the admin API on a non-loopback address */
  allowRemote?: boolean
  /** seed for toxicity rolls, jitter and slicing (default: Math.random) */
  seed?: number
}

export interface ProxyInput {
  name: string
  /** `host:port`, port 0 for a free one (reported back); default 127.0.0.1:0 */
  listen?: string
  upstream: string
  /** default true */
  enabled?: boolean
}

export interface ProxyUpdate {
  listen?: string
  upstream?: string
  enabled?: boolean
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function checkProxyInput(input: unknown, where = ''): ProxyInput {
  if (!isObject(input)) throw errors.badBody(`expected a JSON object${where}`)
  for (const key of ['name', 'listen', 'upstream'] as const) {
    if (input[key] != null && typeof input[key] !== 'string') throw errors.badBody(`${key} must be a string${where}`)
  }
  if (input.enabled != null && typeof input.enabled !== 'boolean') throw errors.badBody(`enabled must be a boolean${where}`)
  if (!input.name) throw errors.missingField(`name${where}`)
  if (!input.upstream) throw errors.missingField(`upstream${where}`)
  return input as unknown as ProxyInput
}

export class FaultProxy {
  readonly url: string
  readonly version = VERSION
  private readonly proxies = new Map<string, Proxy>()
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false
  private closing: Promise<void> | undefined
  private readonly random: () => number

  private constructor(
    private readonly http: Server,
    url: string,
    seed: number | undefined,
  ) {
    this.url = url
    if (seed === undefined) {
      this.random = Math.random
    } else {
      const rng = createRng(seed)
      this.random = () => rng.next()
    }
  }

  /** start the admin API (and nothing else: proxies come from createProxy/populate) */
  static async start(opts: FaultProxyOptions = {}): Promise<FaultProxy> {
    const listen = opts.listen ?? DEFAULT_ADMIN_LISTEN
    const { host, port } = parseHostPort(listen, 'admin listen address', { allowZeroPort: true })
    if (!isLoopback(host) && !opts.allowRemote) {
      throw new FaultProxyError('bad_request', `refusing to serve the proxy admin API on non-loopback address ${listen} (allowRemote not set)`)
    }
    let self: FaultProxy | undefined
    const http = createServer((req, res) => {
      if (self) void self.handle(req, res)
      else res.writeHead(503).end()
    })
    await new Promise<void>((resolve, reject) => {
      http.once('error', (err) => reject(new FaultProxyError('listen_failed', `admin API: listen tcp ${listen}: ${err.message}`, { cause: err })))
      http.listen({ host, port }, () => resolve())
    })
    http.on('error', () => {})
    const address = http.address()
    const bound = address && typeof address === 'object' ? formatHostPort(address.address, address.port) : listen
    self = new FaultProxy(http, `http://${bound}`, opts.seed)
    return self
  }

  /** run mutations one at a time, as Toxiproxy's locks do */
  private exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new Error('fault proxy is closed')
      return fn()
    })
    // the queue only orders the calls: each caller awaits its own `run` and gets its error
    this.queue = run.catch(() => {})
    return run
  }

  private get(name: string): Proxy {
    const proxy = this.proxies.get(name)
    if (!proxy) throw errors.proxyNotFound()
    return proxy
  }

  // --- in-process API, mirroring the routes

  list(): Record<string, ProxyJson> {
    const out: Record<string, ProxyJson> = {}
    for (const [name, proxy] of this.proxies) out[name] = proxy.toJSON()
    return out
  }

  getProxy(name: string): ProxyJson {
    return this.get(name).toJSON()
  }

  createProxy(input: ProxyInput): Promise<ProxyJson> {
    return this.exclusive(async () => {
      const body = checkProxyInput(input)
      if (this.proxies.has(body.name)) throw errors.proxyExists()
      const proxy = new Proxy(body.name, body.listen || '127.0.0.1:0', body.upstream, this.random)
      if (body.enabled !== false) await proxy.start()
      this.proxies.set(body.name, proxy)
      return proxy.toJSON()
    })
  }

  updateProxy(name: string, input: ProxyUpdate): Promise<ProxyJson> {
    return this.exclusive(async () => {
      const proxy = this.get(name)
      if (!isObject(input)) throw errors.badBody('expected a JSON object')
      for (const key of ['listen', 'upstream'] as const) {
        if (input[key] != null && typeof input[key] !== 'string') throw errors.badBody(`${key} must be a string`)
      }
      if (input.enabled != null && typeof input.enabled !== 'boolean') throw errors.badBody('enabled must be a boolean')
      const body = input as ProxyUpdate
      const listen = body.listen || proxy.listen
      const upstream = body.upstream || proxy.upstream
      const enabled = body.enabled ?? proxy.enabled // null too: Go's JSON leaves the field as it was
      if (listen !== proxy.listen || upstream !== proxy.upstream) {
        parseHostPort(listen, 'listen', { allowZeroPort: true })
        parseHostPort(upstream, 'upstream', { allowZeroPort: false })
        await proxy.stop()
        proxy.setAddresses(listen, upstream)
      }
      if (enabled !== proxy.enabled) {
        if (enabled) await proxy.start()
        else await proxy.stop()
      }
      return proxy.toJSON()
    })
  }

  /** `enabled: false` is Toxiproxy's "down": stop listening, drop every connection */
  setEnabled(name: string, enabled: boolean): Promise<ProxyJson> {
    return this.updateProxy(name, { enabled })
  }

  deleteProxy(name: string): Promise<void> {
    return this.exclusive(async () => {
      const proxy = this.get(name)
      this.proxies.delete(name)
      await proxy.stop()
    })
  }

  /**
   * Create or replace proxies: one whose listen and upstream are unchanged is kept as it is
   * (toxics included), any other is replaced. The whole list is validated first.
   */
  populate(inputs: ProxyInput[]): Promise<ProxyJson[]> {
    return this.exclusive(async () => {
      const { proxies, error } = await this.populateAll(inputs)
      if (error) throw error
      return proxies
    })
  }

  private async populateAll(inputs: unknown): Promise<{ proxies: ProxyJson[]; error?: FaultProxyError }> {
    if (!Array.isArray(inputs)) throw errors.badBody('expected a JSON array of proxies')
    const bodies = inputs.map((input, i) => checkProxyInput(input, ` at proxy ${i + 1}`))
    const names = new Set<string>()
    for (const body of bodies) {
      if (names.has(body.name)) throw errors.badBody(`duplicate proxy name ${JSON.stringify(body.name)}`)
      names.add(body.name)
      parseHostPort(body.listen || '127.0.0.1:0', 'listen', { allowZeroPort: true })
      parseHostPort(body.upstream, 'upstream', { allowZeroPort: false })
    }
    const proxies: ProxyJson[] = []
    for (const body of bodies) {
      const listen = body.listen || '127.0.0.1:0'
      const existing = this.proxies.get(body.name)
      if (existing?.sameAs(listen, body.upstream)) {
        proxies.push(existing.toJSON())
        continue
      }
      if (existing) {
        this.proxies.delete(body.name)
        await existing.stop()
      }
      const proxy = new Proxy(body.name, listen, body.upstream, this.random)
      try {
        if (body.enabled !== false) await proxy.start()
      } catch (err) {
        if (err instanceof FaultProxyError) return { proxies, error: err }
        throw err
      }
      this.proxies.set(body.name, proxy)
      proxies.push(proxy.toJSON())
    }
    return { proxies }
  }

  listToxics(proxy: string): ToxicJson[] {
    return this.get(proxy).toxicList()
  }

  getToxic(proxy: string, toxic: string): ToxicJson {
    return this.get(proxy).getToxic(toxic).toJSON()
  }

  addToxic(proxy: string, toxic: ToxicInput): Promise<ToxicJson> {
    return this.exclusive(() => this.get(proxy).addToxic(toxic).toJSON())
  }

  updateToxic(proxy: string, toxic: string, update: ToxicUpdate): Promise<ToxicJson> {
    return this.exclusive(() => this.get(proxy).updateToxic(toxic, update).toJSON())
  }

  removeToxic(proxy: string, toxic: string): Promise<void> {
    return this.exclusive(() => this.get(proxy).removeToxic(toxic))
  }

  /** enable every proxy and remove every toxic */
  reset(): Promise<void> {
    return this.exclusive(async () => {
      for (const proxy of this.proxies.values()) {
        await proxy.start()
        proxy.removeAllToxics()
      }
    })
  }

  /** who is connected through a proxy (Toxiproxy cannot tell: #244) */
  connections(proxy: string): ConnectionInfo[] {
    return this.get(proxy).connectionList()
  }

  /** close the admin API, every listener and every connection; idempotent */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.queue
      this.closed = true
      const httpClosed = new Promise<void>((resolve) => this.http.close(() => resolve()))
      this.http.closeAllConnections()
      const proxies = [...this.proxies.values()]
      this.proxies.clear()
      await Promise.all(proxies.map((p) => p.stop()))
      await httpClosed
    })()
    return this.closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  // --- HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      // as Toxiproxy: browsers may not drive the proxy (a web page could otherwise reach it)
      if ((req.headers['user-agent'] ?? '').startsWith('Mozilla/')) {
        return send(res, 403, { error: 'User agent not allowed', status: 403 })
      }
      const body = req.method === 'POST' || req.method === 'PATCH' ? await readBody(req) : ''
      await this.route(req.method ?? 'GET', new URL(req.url ?? '/', 'http://proxy').pathname, body, res)
    } catch (err) {
      if (err instanceof FaultProxyError) send(res, err.status, { error: err.message, status: err.status })
      else send(res, 500, { error: err instanceof Error ? err.message : String(err), status: 500 })
    }
  }

  private async route(method: string, path: string, body: string, res: ServerResponse): Promise<void> {
    let parts: string[]
    try {
      parts = path
        .split('/')
        .filter((p) => p !== '')
        .map((p) => decodeURIComponent(p))
    } catch {
      return send(res, 404, undefined)
    }
    const [root, proxy, sub, toxic] = parts
    const allow = (...methods: string[]): boolean => {
      if (methods.includes(method)) return true
      send(res, 405, undefined)
      return false
    }
    if (parts.length === 1 && root === 'version') {
      if (allow('GET')) send(res, 200, { version: VERSION })
    } else if (parts.length === 1 && root === 'reset') {
      if (allow('POST')) {
        await this.reset()
        send(res, 204, undefined)
      }
    } else if (parts.length === 1 && root === 'populate') {
      if (allow('POST')) {
        const { proxies, error } = await this.exclusive(() => this.populateAll(parseJson(body)))
        if (error) send(res, error.status, { error: error.message, status: error.status, proxies })
        else send(res, 201, { proxies })
      }
    } else if (root !== 'proxies') {
      send(res, 404, undefined)
    } else if (parts.length === 1) {
      if (method === 'GET') send(res, 200, this.list())
      else if (allow('POST')) send(res, 201, await this.createProxy(parseJson(body) as ProxyInput))
    } else if (parts.length === 2) {
      if (method === 'GET') send(res, 200, this.getProxy(proxy!))
      else if (method === 'DELETE') {
        await this.deleteProxy(proxy!)
        send(res, 204, undefined)
      } else if (allow('POST', 'PATCH')) send(res, 200, await this.updateProxy(proxy!, parseJson(body) as ProxyUpdate))
    } else if (parts.length === 3 && sub === 'toxics') {
      if (method === 'GET') send(res, 200, this.listToxics(proxy!))
      else if (allow('POST')) send(res, 200, await this.addToxic(proxy!, parseJson(body) as ToxicInput))
    } else if (parts.length === 3 && sub === 'connections') {
      if (allow('GET')) send(res, 200, this.connections(proxy!))
    } else if (parts.length === 4 && sub === 'toxics') {
      if (method === 'GET') send(res, 200, this.getToxic(proxy!, toxic!))
      else if (method === 'DELETE') {
        await this.removeToxic(proxy!, toxic!)
        send(res, 204, undefined)
      } else if (allow('POST', 'PATCH')) send(res, 200, await this.updateToxic(proxy!, toxic!, parseJson(body) as ToxicUpdate))
    } else {
      send(res, 404, undefined)
    }
  }
}

function parseJson(body: string): unknown {
  if (body.trim() === '') throw errors.badBody('EOF')
  try {
    return JSON.parse(body)
  } catch (err) {
    throw errors.badBody(err instanceof Error ? err.message : String(err))
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        reject(errors.badBody('body too large'))
        req.destroy()
      } else chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end()
    return
  }
  const json = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) }).end(json)
}

/**
 * `gameday proxy`: serve the admin API until SIGINT or SIGTERM, then close everything.
 */
export async function runProxyCommand(opts: { listen: string; allowRemote?: boolean; seed?: number }): Promise<void> {
  const proxy = await FaultProxy.start(opts)
  process.stdout.write(`fault proxy (Toxiproxy API ${VERSION}) listening on ${proxy.url}\n`)
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
  await proxy.close()
}
