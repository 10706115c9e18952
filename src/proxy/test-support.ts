/**
 * Test support for the fault proxy tests (the proxy itself does not use it): raw TCP on
 * loopback — upstream servers whose accepted sockets a test can reach, clients, and a collector
 * that records what a socket receives and how it ends. `Net.closeAll()` destroys everything.
 */
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net'

export interface Upstream {
  port: number
  /** `127.0.0.1:port` */
  address: string
  accepted: Socket[]
  /** the next accepted socket (already accepted ones first) */
  nextAccepted(timeoutMs?: number): Promise<Socket>
}

export interface Received {
  chunks: Buffer[]
  readonly bytes: Buffer
  readonly length: number
  /** resolves with the bytes once at least `n` have arrived */
  atLeast(n: number, timeoutMs?: number): Promise<Buffer>
  /** resolves when the peer half-closed (FIN) */
  ended: Promise<number>
  /** resolves when the socket closed, with the error code if it closed on an error */
  closed: Promise<{ at: number; code?: string }>
}

export class Net {
  private readonly sockets = new Set<Socket>()
  private readonly servers = new Set<Server>()

  track(socket: Socket): Socket {
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
    return socket
  }

  /** an upstream server; `echo` echoes every byte back */
  async upstream(opts: { echo?: boolean } = {}): Promise<Upstream> {
    const accepted: Socket[] = []
    const waiters: ((s: Socket) => void)[] = []
    let taken = 0
    const server = createServer((socket) => {
      this.track(socket)
      socket.on('error', () => {})
      socket.setNoDelay(true)
      if (opts.echo) socket.on('data', (d) => socket.write(d))
      accepted.push(socket)
      const waiter = waiters.shift()
      if (waiter) {
        taken++
        waiter(socket)
      }
    })
    this.servers.add(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    return {
      port,
      address: `127.0.0.1:${port}`,
      accepted,
      nextAccepted: (timeoutMs = 5000) => {
        if (taken < accepted.length) return Promise.resolve(accepted[taken++]!)
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no connection accepted upstream')), timeoutMs)
          waiters.push((s) => {
            clearTimeout(timer)
            resolve(s)
          })
        })
      },
    }
  }

  /** connect a client; rejects with the socket error (e.g. ECONNREFUSED) */
  connect(address: string): Promise<Socket> {
    const [host, port] = splitAddress(address)
    return new Promise((resolve, reject) => {
      const socket = this.track(connect({ host, port }))
      socket.setNoDelay(true)
      socket.once('connect', () => {
        socket.off('error', reject)
        socket.on('error', () => {})
        resolve(socket)
      })
      socket.once('error', reject)
    })
  }

  async closeAll(): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    this.sockets.clear()
    await Promise.all([...this.servers].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
    this.servers.clear()
  }
}

export function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':')
  return [address.slice(0, i).replace(/^\[|\]$/g, ''), Number(address.slice(i + 1))]
}

export function receive(socket: Socket): Received {
  const chunks: Buffer[] = []
  let length = 0
  let waiters: { n: number; resolve: (b: Buffer) => void }[] = []
  const bytes = () => Buffer.concat(chunks)
  let endedResolve!: (at: number) => void
  const ended = new Promise<number>((r) => (endedResolve = r))
  let code: string | undefined
  socket.on('error', (err: NodeJS.ErrnoException) => (code ??= err.code))
  const closed = new Promise<{ at: number; code?: string }>((resolve) => socket.once('close', () => resolve({ at: performance.now(), code })))
  socket.on('data', (d: Buffer) => {
    chunks.push(d)
    length += d.length
    const ready = waiters.filter((w) => length >= w.n)
    waiters = waiters.filter((w) => length < w.n)
    for (const w of ready) w.resolve(bytes())
  })
  socket.on('end', () => endedResolve(performance.now()))
  return {
    chunks,
    get bytes() {
      return bytes()
    },
    get length() {
      return length
    },
    atLeast(n, timeoutMs = 5000) {
      if (length >= n) return Promise.resolve(bytes())
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${length} of ${n} bytes arrived in ${timeoutMs} ms`)), timeoutMs)
        waiters.push({
          n,
          resolve: (b) => {
            clearTimeout(timer)
            resolve(b)
          },
        })
      })
    },
    ended,
    closed,
  }
}

/** a promise that resolves after `ms` with `'timeout'` (to race against an event that must not happen) */
export function quiet(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(() => resolve('timeout'), ms))
}
