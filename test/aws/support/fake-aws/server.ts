/**
 * A fake AWS account on loopback, speaking the real wire protocols to the real SDK clients
 * through their own endpoint override (`endpoint:` in the environment file). Every call is
 * logged with the access key it was signed with, so a test can assert that only dummy
 * credentials were ever used; a call can be held — before or after it takes effect, never
 * answered — to catch a runner "in flight" and kill it there.
 *
 *   const aws = await FakeAwsServer.start()
 *   aws.endpoint                       // http://127.0.0.1:<port>
 *   const held = aws.hold('StopInstances', 'after')
 *   await held.arrived                 // the instance is stopping; the caller waits for an answer that never comes
 */
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { FakeAccount } from './account.ts'
import { answer, AwsFault, failure, parseRequest, type WireRequest, type WireResponse } from './wire.ts'

export interface LoggedCall {
  service: string
  operation: string
  input: Record<string, any>
  accessKeyId: string
  region: string
  /** ms since the epoch, when it arrived */
  at: number
}

/** Calls that change nothing: what plan and a second recover may make. */
export const isReadOnly = (operation: string) => /^(Describe|List|Get)/.test(operation)

interface Hold {
  operation: string
  mode: 'before' | 'after'
  arrived: Promise<LoggedCall>
  resolve: (call: LoggedCall) => void
}

export class FakeAwsServer {
  readonly calls: LoggedCall[] = []
  private holds: Hold[] = []
  /** operation → how many more calls to refuse with the service's throttling error */
  private readonly throttled = new Map<string, number>()
  private readonly sockets = new Set<Socket>()
  /** requests left unanswered by a hold */
  private readonly held = new Set<ServerResponse>()

  private constructor(
    private readonly server: Server,
    public account: FakeAccount,
    readonly endpoint: string,
  ) {}

  /** A fresh account behind the same endpoint (between tests); the old one's pending changes are cancelled. */
  reset(account: FakeAccount): void {
    this.account.close()
    this.account = account
    this.releaseHolds()
    this.clearCalls()
  }

  static async start(account = new FakeAccount()): Promise<FakeAwsServer> {
    let fake: FakeAwsServer | undefined
    const server = createServer((req, res) => void fake!.handle(req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    if (!address || typeof address === 'string') throw new Error('no address')
    fake = new FakeAwsServer(server, account, `http://127.0.0.1:${address.port}`)
    server.on('connection', (s) => {
      fake!.sockets.add(s)
      s.once('close', () => fake!.sockets.delete(s))
    })
    return fake
  }

  /** The next call of `operation` is held: `before` it takes effect, or `after`; it is never answered. */
  hold(operation: string, mode: 'before' | 'after'): { arrived: Promise<LoggedCall> } {
    let resolve!: (call: LoggedCall) => void
    const arrived = new Promise<LoggedCall>((r) => (resolve = r))
    this.holds.push({ operation, mode, arrived, resolve })
    return { arrived }
  }

  /** The next `times` calls of `operation` are refused as throttled (ThrottlingException / RequestLimitExceeded). */
  throttle(operation: string, times: number): void {
    this.throttled.set(operation, times)
  }

  /** Answers nothing held any more (closes those connections), forgets holds not yet met. */
  releaseHolds(): void {
    this.holds = []
    for (const res of this.held) res.socket?.destroy()
    this.held.clear()
  }

  mutatingCalls(): LoggedCall[] {
    return this.calls.filter((c) => !isReadOnly(c.operation))
  }

  clearCalls(): void {
    this.calls.length = 0
  }

  private async handle(req: import('node:http').IncomingMessage, res: ServerResponse): Promise<void> {
    let wire: WireRequest | undefined
    let out: WireResponse
    try {
      wire = await parseRequest(req)
      const call: LoggedCall = {
        service: wire.service,
        operation: wire.operation,
        input: wire.input,
        accessKeyId: wire.accessKeyId,
        region: wire.region,
        at: Date.now(),
      }
      this.calls.push(call)
      const throttle = this.throttled.get(wire.operation) ?? 0
      if (throttle > 0) {
        this.throttled.set(wire.operation, throttle - 1)
        throw new AwsFault(wire.service === 'ec2' ? 'RequestLimitExceeded' : wire.protocol === 'query' ? 'Throttling' : 'ThrottlingException', 'Rate exceeded')
      }
      const hold = this.holds.find((h) => h.operation === wire!.operation)
      if (hold) this.holds.splice(this.holds.indexOf(hold), 1)
      if (hold?.mode === 'before') return this.keep(res, hold, call)
      const output = this.account.call(wire.service, wire.operation, wire.input)
      if (hold) return this.keep(res, hold, call)
      out = answer(wire, output)
    } catch (err) {
      out = failure(wire, err instanceof AwsFault ? err : new AwsFault('InternalFailure', (err as Error).message, 500))
    }
    res.writeHead(out.status, { ...out.headers, 'x-amzn-requestid': '00000000-0000-4000-8000-000000000000' })
    res.end(out.body)
  }

  private keep(res: ServerResponse, hold: Hold, call: LoggedCall): void {
    this.held.add(res)
    hold.resolve(call)
  }

  async close(): Promise<void> {
    this.account.close()
    this.releaseHolds()
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
