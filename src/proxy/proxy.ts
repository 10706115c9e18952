/**
 * One named proxy: a listener, the upstream it forwards to, its toxics (a chain per direction)
 * and its live connections. Toxics added or removed apply to live connections at once.
 */
import { createServer, connect, type NetConnectOpts, type Server, type Socket } from 'node:net'
import { errors, FaultProxyError } from './errors.ts'
import { formatHostPort, parseHostPort, type HostPort } from './address.ts'
import { Connection, type ConnectionInfo } from './link.ts'
import { Toxic, type StreamDirection, type ToxicJson } from './toxics.ts'

/** Toxiproxy's proxy JSON (its key order) */
export interface ProxyJson {
  name: string
  listen: string
  upstream: string
  enabled: boolean
  toxics: ToxicJson[]
}

/**
 * Socket buffer high-water mark. Node's default (16 KiB) is smaller than one 64 KiB read, so a
 * pipe would pause and resume the source (two epoll_ctl calls) for every chunk it forwards.
 */
const SOCKET_HIGH_WATER = 256 * 1024

export class Proxy {
  /** as requested until the proxy first listens, then the bound address (real port) */
  listen: string
  upstream: string
  enabled = false
  readonly toxics: Record<StreamDirection, Toxic[]> = { upstream: [], downstream: [] }
  private server: Server | null = null
  private upstreamAddr: HostPort
  private readonly connections = new Set<Connection>()
  /** accepted clients still waiting for their upstream connection */
  private readonly pending = new Set<Socket>()

  constructor(
    readonly name: string,
    listen: string,
    upstream: string,
    private readonly random: () => number,
  ) {
    parseHostPort(listen, 'listen', { allowZeroPort: true })
    this.upstreamAddr = parseHostPort(upstream, 'upstream', { allowZeroPort: false })
    this.listen = listen
    this.upstream = upstream
  }

  /** would a populate entry with this listen/upstream leave the proxy as it is? */
  sameAs(listen: string, upstream: string): boolean {
    const a = parseHostPort(listen, 'listen', { allowZeroPort: true })
    const b = parseHostPort(this.listen, 'listen', { allowZeroPort: true })
    return a.port !== 0 && a.host === b.host && a.port === b.port && upstream === this.upstream
  }

  /** change listen and/or upstream; the caller stops the proxy first */
  setAddresses(listen: string, upstream: string): void {
    parseHostPort(listen, 'listen', { allowZeroPort: true })
    this.upstreamAddr = parseHostPort(upstream, 'upstream', { allowZeroPort: false })
    this.listen = listen
    this.upstream = upstream
  }

  async start(): Promise<void> {
    if (this.enabled) return
    const { host, port } = parseHostPort(this.listen, 'listen', { allowZeroPort: true })
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, highWaterMark: SOCKET_HIGH_WATER }, this.accept)
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new FaultProxyError('listen_failed', `listen tcp ${this.listen}: ${err.message}`, { cause: err }))
      server.once('error', onError)
      server.listen({ host, port }, () => {
        server.off('error', onError)
        resolve()
      })
    })
    server.on('error', () => {}) // accept errors (EMFILE...) must not crash the process
    const address = server.address()
    if (address && typeof address === 'object') this.listen = formatHostPort(address.address, address.port)
    this.server = server
    this.enabled = true
  }

  /** stop listening and drop every connection */
  async stop(): Promise<void> {
    if (!this.enabled) return
    this.enabled = false
    const server = this.server
    this.server = null
    const closed = new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve())
    for (const client of this.pending) client.destroy()
    this.pending.clear()
    for (const conn of this.connections) conn.destroy()
    this.connections.clear()
    await closed
  }

  private readonly accept = (client: Socket): void => {
    if (!this.enabled) {
      client.destroy()
      return
    }
    this.pending.add(client)
    client.on('error', () => {})
    const upstream = connect({
      host: this.upstreamAddr.host,
      port: this.upstreamAddr.port,
      allowHalfOpen: true,
      highWaterMark: SOCKET_HIGH_WATER, // passed on to the Duplex (not in @types/node's connect options)
    } as NetConnectOpts)
    const fail = () => {
      // Toxiproxy closes the client when it cannot reach the upstream
      this.pending.delete(client)
      client.destroy()
      upstream.destroy()
    }
    upstream.once('error', fail)
    client.once('close', () => {
      if (this.pending.delete(client)) upstream.destroy()
    })
    upstream.once('connect', () => {
      upstream.off('error', fail)
      upstream.on('error', () => {})
      if (!this.pending.delete(client) || client.destroyed || !this.enabled) {
        upstream.destroy()
        return
      }
      const conn = new Connection({ random: this.random, forget: (c) => this.connections.delete(c) }, client, upstream, this.upstream, this.toxics)
      this.connections.add(conn)
    })
  }

  // --- toxics

  findToxic(name: string): Toxic | undefined {
    return this.toxics.upstream.find((t) => t.name === name) ?? this.toxics.downstream.find((t) => t.name === name)
  }

  getToxic(name: string): Toxic {
    const toxic = this.findToxic(name)
    if (!toxic) throw errors.toxicNotFound()
    return toxic
  }

  addToxic(input: unknown): Toxic {
    const toxic = Toxic.parse(input, (name) => this.findToxic(name) !== undefined)
    this.toxics[toxic.stream].push(toxic)
    for (const conn of this.connections) conn.link(toxic.stream).addToxic(toxic)
    return toxic
  }

  updateToxic(name: string, input: unknown): Toxic {
    const toxic = this.getToxic(name)
    toxic.update(input)
    for (const conn of this.connections) conn.link(toxic.stream).updateToxic(toxic)
    return toxic
  }

  removeToxic(name: string): void {
    const toxic = this.getToxic(name)
    const chain = this.toxics[toxic.stream]
    chain.splice(chain.indexOf(toxic), 1)
    for (const conn of [...this.connections]) conn.link(toxic.stream).removeToxic(toxic)
  }

  removeAllToxics(): void {
    for (const stream of ['upstream', 'downstream'] as const) {
      while (this.toxics[stream].length > 0) this.removeToxic(this.toxics[stream][0]!.name)
    }
  }

  /** toxics in Toxiproxy's listing order: upstream chain, then downstream chain */
  toxicList(): ToxicJson[] {
    return [...this.toxics.upstream, ...this.toxics.downstream].map((t) => t.toJSON())
  }

  connectionList(): ConnectionInfo[] {
    return [...this.connections].map((c) => ({ ...c.info }))
  }

  toJSON(): ProxyJson {
    return { name: this.name, listen: this.listen, upstream: this.upstream, enabled: this.enabled, toxics: this.toxicList() }
  }
}
