/**
 * One proxied TCP connection (client ⇄ proxy ⇄ upstream) and its two links, one per direction.
 *
 * A link without an active toxic is a plain `src.pipe(dst)`: no per-chunk work in JavaScript
 * beyond Node's own. When a toxic that won its toxicity roll attaches, the link unpipes and
 * feeds a chain of stages instead; when the last one goes (with nothing held), it pipes again.
 *
 * Half-closes are passed on (a FIN from one side becomes a FIN to the other, after the toxics),
 * which is kinder than Toxiproxy's close-on-EOF; a reset on one side is passed on as a reset.
 */
import type { Socket } from 'node:net'
import { createStage, type Chunk, type EndKind, type Sink, type Stage, type StageHost, type StreamDirection, type Toxic } from './toxics.ts'
import { after, now } from './timer.ts'

/** stop reading from the source when this many bytes are held in the stages */
const HIGH_WATER = 1 << 20
const LOW_WATER = HIGH_WATER / 2
/** a socket being closed gracefully is destroyed after this long even if its peer does not read */
const CLOSE_GRACE_MS = 2000

export class Link implements StageHost {
  readonly stages: Stage[] = []
  mode: 'pipe' | 'chain' = 'pipe'
  /** bytes read from src and not yet written to dst nor dropped */
  private held = 0
  private paused = false
  private srcEnded = false
  private stopped = false
  private readonly sink: Sink

  constructor(
    private readonly conn: Connection,
    readonly src: Socket,
    readonly dst: Socket,
    readonly direction: StreamDirection,
    toxics: readonly Toxic[],
  ) {
    this.sink = { write: (c) => this.deliver(c), end: (k) => this.finish(k) }
    for (const toxic of toxics) this.stages.push(createStage(toxic, this))
    this.rewire()
    for (const stage of this.stages) stage.start()
    src.on('end', this.onSrcEnd)
    if (this.stages.some((s) => s.active)) this.toChain()
    else src.pipe(dst, { end: false })
  }

  // --- StageHost

  random(): number {
    return this.conn.random()
  }

  release(bytes: number): void {
    this.held -= bytes
    this.maybeResume()
  }

  reset(): void {
    this.conn.reset()
  }

  // --- toxics coming and going

  addToxic(toxic: Toxic): void {
    if (this.stopped) return
    const stage = createStage(toxic, this)
    this.stages.push(stage)
    this.rewire()
    stage.start()
    this.refreshMode()
  }

  updateToxic(toxic: Toxic): void {
    const stage = this.stages.find((s) => s.toxic === toxic)
    if (!stage || this.stopped) return
    stage.update()
    this.refreshMode()
  }

  removeToxic(toxic: Toxic): void {
    const i = this.stages.findIndex((s) => s.toxic === toxic)
    if (i < 0) return
    const [stage] = this.stages.splice(i, 1)
    // hand on what it holds (through its current `next`), then unlink it
    if (!this.stopped) stage!.remove()
    else stage!.destroy()
    this.rewire()
    this.refreshMode()
  }

  private rewire(): void {
    for (let i = 0; i < this.stages.length; i++) this.stages[i]!.next = this.stages[i + 1] ?? this.sink
  }

  private get entry(): Sink {
    return this.stages[0] ?? this.sink
  }

  private refreshMode(): void {
    if (this.stopped) return
    const wantChain = this.stages.some((s) => s.active)
    if (wantChain && this.mode === 'pipe') this.toChain()
    else if (!wantChain && this.mode === 'chain' && this.held === 0) this.toPipe()
  }

  private toChain(): void {
    this.src.unpipe(this.dst) // pauses src; nothing is lost, 'data' is synchronous
    this.mode = 'chain'
    this.paused = false
    this.src.on('data', this.onData)
    this.dst.on('drain', this.onDrain)
    if (this.srcEnded) return
    if (this.dst.writableNeedDrain) this.pause()
    else this.src.resume()
  }

  private toPipe(): void {
    this.src.off('data', this.onData)
    this.dst.off('drain', this.onDrain)
    this.mode = 'pipe'
    this.paused = false
    if (!this.srcEnded) this.src.pipe(this.dst, { end: false }) // resumes src unless dst needs a drain
  }

  // --- data path in chain mode

  private readonly onData = (data: Buffer): void => {
    if (this.stopped) return
    this.held += data.length
    this.entry.write({ data, t: now() })
    if (this.held >= HIGH_WATER || this.dst.writableNeedDrain) this.pause()
  }

  private deliver(chunk: Chunk): void {
    this.held -= chunk.data.length
    if (!this.stopped && this.dst.writable) this.dst.write(chunk.data)
    this.maybeResume()
  }

  private readonly onDrain = (): void => this.maybeResume()

  private pause(): void {
    if (this.paused) return
    this.paused = true
    this.src.pause()
  }

  private maybeResume(): void {
    if (!this.paused || this.stopped || this.held > LOW_WATER || this.dst.writableNeedDrain) return
    this.paused = false
    this.src.resume()
  }

  // --- ends

  private readonly onSrcEnd = (): void => {
    this.srcEnded = true
    if (this.stopped) return
    if (this.mode === 'pipe') this.finish('eof')
    else this.entry.end('eof')
  }

  private finish(kind: EndKind): void {
    if (this.stopped) return
    if (kind === 'close') this.conn.close()
    else if (this.dst.writable) this.dst.end()
  }

  /** the connection is going away: stop moving bytes, drop what is held, stop timers */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.src.off('data', this.onData)
    this.dst.off('drain', this.onDrain)
    this.src.unpipe(this.dst)
    for (const stage of this.stages) stage.destroy()
  }
}

export interface ConnectionInfo {
  /** the client's address as the proxy sees it (`ip:port`) */
  client: string
  /** the proxy's local address on the upstream side (`ip:port`), what the upstream sees */
  upstreamLocal: string
  upstream: string
  /** milliseconds since the epoch */
  since: number
}

export interface ConnectionOwner {
  random(): number
  forget(conn: Connection): void
}

export class Connection {
  readonly up: Link
  readonly down: Link
  readonly info: ConnectionInfo
  private closing = false
  private closedSockets = 0
  private readonly errorCodes = new Map<Socket, string | undefined>()

  constructor(
    private readonly owner: ConnectionOwner,
    readonly client: Socket,
    readonly upstream: Socket,
    upstreamAddress: string,
    toxics: { upstream: readonly Toxic[]; downstream: readonly Toxic[] },
  ) {
    this.info = {
      client: `${client.remoteAddress}:${client.remotePort}`,
      upstreamLocal: `${upstream.localAddress}:${upstream.localPort}`,
      upstream: upstreamAddress,
      since: Date.now(),
    }
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true)
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (!this.errorCodes.has(socket)) this.errorCodes.set(socket, err.code)
      })
      socket.once('close', (hadError) => this.onSocketClose(socket, hadError))
    }
    this.up = new Link(this, client, upstream, 'upstream', toxics.upstream)
    this.down = new Link(this, upstream, client, 'downstream', toxics.downstream)
  }

  random(): number {
    return this.owner.random()
  }

  link(direction: StreamDirection): Link {
    return direction === 'upstream' ? this.up : this.down
  }

  private other(socket: Socket): Socket {
    return socket === this.client ? this.upstream : this.client
  }

  private onSocketClose(socket: Socket, hadError: boolean): void {
    this.closedSockets++
    const other = this.other(socket)
    if (hadError && !other.destroyed) {
      // pass a reset on as a reset, anything else as a close
      this.stopLinks()
      if (this.errorCodes.get(socket) === 'ECONNRESET') resetSocket(other)
      else other.destroy()
    }
    if (this.closedSockets === 2) {
      this.stopLinks()
      this.owner.forget(this)
    }
  }

  private stopLinks(): void {
    this.closing = true
    this.up.stop()
    this.down.stop()
  }

  /** close both sides gracefully (FIN after what was written), as Toxiproxy's conn.Close() */
  close(): void {
    if (this.closing) return
    this.stopLinks()
    for (const socket of [this.client, this.upstream]) {
      if (socket.destroyed) continue
      socket.pause()
      const timer = after(CLOSE_GRACE_MS, () => socket.destroy())
      socket.once('close', () => clearTimeout(timer))
      socket.end(() => socket.destroy())
    }
  }

  /** reset both sides (TCP RST) */
  reset(): void {
    this.stopLinks()
    resetSocket(this.client)
    resetSocket(this.upstream)
  }

  /** drop both sides now (proxy disabled or deleted) */
  destroy(): void {
    this.stopLinks()
    this.client.destroy()
    this.upstream.destroy()
  }
}

function resetSocket(socket: Socket): void {
  if (socket.destroyed) return
  try {
    socket.resetAndDestroy()
  } catch {
    socket.destroy()
  }
}
