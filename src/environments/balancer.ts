/**
 * The round-robin TCP load balancer in front of a service's tasks, as an ALB target group is:
 * shared by the local supervisor (tasks are processes on loopback) and the containers
 * controller (tasks are containers on the environment's network).
 *
 * Each connection goes to the next task that said it is ready and has not started draining
 * (state RUNNING); with none, the client gets an HTTP 503 and the connection closes. Bytes are
 * piped both ways; when either end closes or fails, both are destroyed.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'

export interface BalancedTask {
  state: string
}

export interface BalancerOptions<T extends BalancedTask> {
  /** the service's tasks, whatever their state: only RUNNING ones with an address get traffic */
  tasks: () => readonly T[]
  /** where a task listens; undefined while it has no address yet */
  address: (task: T) => { host: string; port: number } | undefined
}

const UNAVAILABLE = 'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'

export class Balancer<T extends BalancedTask> {
  private next = 0
  private server: Server | undefined

  constructor(private readonly opts: BalancerOptions<T>) {}

  /** Hands one client connection to the next ready task. */
  handle(client: Socket): void {
    const ready = this.opts.tasks().flatMap((t) => {
      const address = t.state === 'RUNNING' ? this.opts.address(t) : undefined
      return address ? [address] : []
    })
    if (ready.length === 0) {
      client.on('error', () => client.destroy())
      client.end(UNAVAILABLE)
      return
    }
    const target = ready[this.next++ % ready.length]
    const upstream = connect(target)
    upstream.setNoDelay(true)
    client.setNoDelay(true)
    client.pipe(upstream).pipe(client)
    const close = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', close)
    upstream.on('error', close)
    client.on('close', close)
    upstream.on('close', close)
  }

  /** Listens on host:port; resolves once listening. */
  async listen(port: number, host: string): Promise<Server> {
    const server = createServer((client) => this.handle(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => resolve())
    })
    this.server = server
    return server
  }

  /** Stops accepting connections; those open end with their peers. */
  close(): void {
    this.server?.close()
  }
}
