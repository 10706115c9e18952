/**
 * A gate in front of one Redis Cluster node's port (its client port, which replicas also dial,
 * or its cluster-bus port): a TCP relay that can refuse, and cut, the connections coming from
 * chosen source addresses. It is how a process environment isolates a node from the other
 * nodes while clients still reach it.
 *
 * The fault proxy cannot do this: the cluster gossips one address per node, so every peer dials
 * the same port, and only the source address tells node B's connection from node C's. Each node
 * binds (and leaves from, `bind-source-addr`) a loopback address of its own, so its source is
 * its name. Clients come from 127.0.0.1 and are never refused.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'

export interface GateAddress {
  host: string
  port: number
}

export class SourceGate {
  private server: Server | null = null
  private readonly refused = new Set<string>()
  private readonly open = new Set<{ client: Socket; upstream: Socket }>()

  constructor(
    readonly name: string,
    readonly listen: GateAddress,
    readonly upstream: GateAddress,
  ) {}

  async start(): Promise<void> {
    if (this.server) return
    const server = createServer({ pauseOnConnect: true }, (client) => this.accept(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.listen.port, this.listen.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', () => {}) // accept errors (EMFILE…) must not end the process hosting the gate
    this.server = server
  }

  /** Refuse these source addresses from now on, and cut their open connections. */
  refuse(sources: string[]): void {
    for (const s of sources) this.refused.add(s)
    for (const pair of this.open) if (this.refused.has(source(pair.client))) this.close(pair)
  }

  /** Let these sources (default: all) through again. */
  admit(sources?: string[]): void {
    if (!sources) this.refused.clear()
    else for (const s of sources) this.refused.delete(s)
  }

  get refusing(): string[] {
    return [...this.refused].sort()
  }

  async stop(): Promise<void> {
    const server = this.server
    this.server = null
    for (const pair of this.open) this.close(pair)
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  private accept(client: Socket): void {
    client.on('error', () => {})
    if (this.refused.has(source(client))) {
      client.destroy()
      return
    }
    const upstream = connect({ host: this.upstream.host, port: this.upstream.port })
    const pair = { client, upstream }
    this.open.add(pair)
    upstream.on('error', () => this.close(pair))
    client.on('close', () => this.close(pair))
    upstream.on('close', () => this.close(pair))
    upstream.once('connect', () => {
      client.pipe(upstream)
      upstream.pipe(client)
      client.resume()
    })
  }

  private close(pair: { client: Socket; upstream: Socket }): void {
    if (!this.open.delete(pair)) return
    pair.client.destroy()
    pair.upstream.destroy()
  }
}

const source = (s: Socket) => (s.remoteAddress ?? '').replace(/^::ffff:/, '')

/** The gates of every node of one cluster: each node's client-port gate and bus gate, and the address it leaves from. */
export interface GatedNode {
  name: string
  /** the loopback address the node binds and leaves from */
  source: string
  gates: SourceGate[]
}

/**
 * Cuts a node from every other node of its cluster, both ways (its gates refuse them, theirs
 * refuse it) — the cluster bus and replication alike — while clients, who come from elsewhere,
 * still reach it. Returns the node names cut off, for the revert state.
 */
export function isolateNode(nodes: GatedNode[], name: string): string[] {
  const node = nodes.find((n) => n.name === name)
  if (!node) throw new Error(`no cluster node ${name}`)
  const others = nodes.filter((n) => n !== node)
  for (const g of node.gates) g.refuse(others.map((o) => o.source))
  for (const o of others) for (const g of o.gates) g.refuse([node.source])
  return others.map((o) => o.name)
}

/** Undoes `isolateNode`: every gate of the cluster admits the node again, and its gates admit the others. */
export function rejoinNode(nodes: GatedNode[], name: string): void {
  const node = nodes.find((n) => n.name === name)
  if (!node) return
  const others = nodes.filter((n) => n !== node)
  for (const g of node.gates) g.admit(others.map((o) => o.source))
  for (const o of others) for (const g of o.gates) g.admit([node.source])
}
