/**
 * Toxics: their definitions (Toxiproxy's JSON, validated), and the per-connection stages that
 * apply them to one direction of one connection.
 *
 * A stage sits in a chain: bytes read from the source enter the first stage, each stage hands
 * them on to `next` (the next stage or the sink that writes to the destination socket), now or
 * later. An end travels the same way: `eof` (the source half-closed) or `close` (a toxic closes
 * the whole connection, as Toxiproxy's stub.Close() does). Semantics follow Toxiproxy 2.x
 * (github.com/Shopify/toxiproxy, toxics/*.go):
 *
 * - latency: each chunk leaves at arrival + latency ± jitter, in order; removal flushes at once.
 * - bandwidth: rate KB/s (1 KB = 1000 bytes), paced in ≤ 10 ms slices on an absolute schedule;
 *   `shared: true` (our extension, Toxiproxy #190) paces all connections of the proxy together.
 * - slow_close: an end waits `delay` ms.
 * - timeout: data is dropped; after `timeout` ms (0 = never) the connection is closed; removing
 *   the toxic closes the connections it was applied to (the stream lost bytes: Toxiproxy #168).
 *   `hold: true` (our extension) holds data (and FINs) instead, stops reading so the sender's
 *   TCP window fills as in a real partition, and lets it all flow again when the toxic goes.
 * - reset_peer: the first data (or end) arms a `timeout` ms timer, then both sockets get a RST.
 * - slicer: chunks are cut in slices of average_size ± size_variation bytes, `delay` µs apart.
 * - limit_data: `bytes` bytes pass, then the connection is closed.
 *
 * Toxicity is rolled per connection when the toxic attaches to it (and again when it is
 * updated), as Toxiproxy rolls it when a stub starts running; a stage that lost the roll passes
 * everything through untouched.
 */
import { errors } from './errors.ts'
import { PreciseTimer, EPSILON_MS, after, now } from './timer.ts'

export type StreamDirection = 'upstream' | 'downstream'
export const TOXIC_TYPES = ['latency', 'bandwidth', 'slow_close', 'timeout', 'reset_peer', 'slicer', 'limit_data'] as const
export type ToxicType = (typeof TOXIC_TYPES)[number]

export type ToxicAttributes = Record<string, number | boolean>

/** what POST /proxies/{proxy}/toxics accepts */
export interface ToxicInput {
  name?: string
  type: string
  /** upstream = client → server, downstream = server → client (default) */
  stream?: string
  /** 0..1, share of connections the toxic applies to (default 1) */
  toxicity?: number
  attributes?: Record<string, unknown>
}

/** what POST /proxies/{proxy}/toxics/{toxic} accepts */
export interface ToxicUpdate {
  toxicity?: number
  attributes?: Record<string, unknown>
}

/** Toxiproxy's toxic JSON (its key order) */
export interface ToxicJson {
  attributes: ToxicAttributes
  name: string
  type: ToxicType
  stream: StreamDirection
  toxicity: number
}

interface AttributeSpec {
  ints: string[]
  bools?: string[]
}

const SPECS: Record<ToxicType, AttributeSpec> = {
  latency: { ints: ['latency', 'jitter'] },
  bandwidth: { ints: ['rate'], bools: ['shared'] },
  slow_close: { ints: ['delay'] },
  timeout: { ints: ['timeout'], bools: ['hold'] },
  reset_peer: { ints: ['timeout'] },
  slicer: { ints: ['average_size', 'size_variation', 'delay'] },
  limit_data: { ints: ['bytes'] },
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** merge `input` over `base`, checking types as Toxiproxy's JSON decoding does (plus: no negatives) */
function mergeAttributes(type: ToxicType, base: ToxicAttributes, input: unknown): ToxicAttributes {
  if (input === undefined || input === null) return { ...base }
  if (!isObject(input)) throw errors.badBody('attributes must be an object')
  const spec = SPECS[type]
  const out: ToxicAttributes = { ...base }
  for (const key of spec.ints) {
    if (input[key] == null) continue // absent or null: unchanged, as Go decodes it
    const v = input[key]
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || !Number.isSafeInteger(v)) {
      throw errors.badBody(`attribute ${key} of a ${type} toxic must be a non-negative integer`)
    }
    out[key] = v
  }
  for (const key of spec.bools ?? []) {
    if (input[key] == null) continue // absent or null: unchanged, as Go decodes it
    const v = input[key]
    if (typeof v !== 'boolean') throw errors.badBody(`attribute ${key} of a ${type} toxic must be a boolean`)
    out[key] = v
  }
  if (type === 'slicer' && (out.average_size as number) < 1) {
    throw errors.badBody('attribute average_size of a slicer toxic must be at least 1')
  }
  return out
}

function defaultAttributes(type: ToxicType): ToxicAttributes {
  const out: ToxicAttributes = {}
  for (const key of SPECS[type].ints) out[key] = 0
  return out
}

function checkToxicity(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) {
    throw errors.badBody('toxicity must be a number between 0 and 1')
  }
  return v
}

export function parseStream(v: unknown): StreamDirection {
  if (typeof v !== 'string') throw errors.invalidStream()
  const s = v.toLowerCase()
  if (s !== 'upstream' && s !== 'downstream') throw errors.invalidStream()
  return s
}

/** A toxic of one proxy: its definition, shared by the stages of every connection. */
export class Toxic {
  readonly name: string
  readonly type: ToxicType
  readonly stream: StreamDirection
  toxicity: number
  attributes: ToxicAttributes
  /** the pacing clock of a `shared: true` bandwidth toxic (performance.now() ms) */
  readonly sharedClock = { free: 0 }

  private constructor(name: string, type: ToxicType, stream: StreamDirection, toxicity: number, attributes: ToxicAttributes) {
    this.name = name
    this.type = type
    this.stream = stream
    this.toxicity = toxicity
    this.attributes = attributes
  }

  /**
   * Validate a creation body in Toxiproxy's order: body, stream, default name, type, toxicity,
   * then `nameTaken` (409 before bad attributes answer 400), then attributes.
   */
  static parse(input: unknown, nameTaken: (name: string) => boolean = () => false): Toxic {
    if (!isObject(input)) throw errors.badBody('expected a JSON object')
    const stream = input.stream == null ? 'downstream' : parseStream(input.stream)
    if (input.name != null && typeof input.name !== 'string') throw errors.badBody('name must be a string')
    if (input.type != null && typeof input.type !== 'string') throw errors.badBody('type must be a string')
    const typeName = (input.type as string | null | undefined) ?? ''
    const name = (input.name as string | null | undefined) || `${typeName}_${stream}`
    if (!(TOXIC_TYPES as readonly string[]).includes(typeName)) throw errors.invalidToxicType()
    const type = typeName as ToxicType
    const toxicity = input.toxicity == null ? 1 : checkToxicity(input.toxicity)
    if (nameTaken(name)) throw errors.toxicExists()
    const attributes = mergeAttributes(type, defaultAttributes(type), input.attributes)
    return new Toxic(name, type, stream, toxicity, attributes)
  }

  /** apply an update body (partial attributes merge over the current ones); all-or-nothing */
  update(input: unknown): void {
    if (!isObject(input)) throw errors.badBody('expected a JSON object')
    const attributes = mergeAttributes(this.type, this.attributes, input.attributes)
    const toxicity = input.toxicity == null ? this.toxicity : checkToxicity(input.toxicity)
    this.attributes = attributes
    this.toxicity = toxicity
  }

  num(key: string): number {
    return (this.attributes[key] as number | undefined) ?? 0
  }

  toJSON(): ToxicJson {
    const attributes: ToxicAttributes = {}
    for (const key of SPECS[this.type].ints) attributes[key] = this.attributes[key] as number
    // our boolean extensions (bandwidth `shared`, timeout `hold`) show only when set
    for (const key of SPECS[this.type].bools ?? []) if (this.attributes[key] === true) attributes[key] = true
    return { attributes, name: this.name, type: this.type, stream: this.stream, toxicity: this.toxicity }
  }
}

// ---------------------------------------------------------------------------------------------
// Stages

export interface Chunk {
  data: Buffer
  /** when the bytes became ready at this point of the chain (performance.now() ms) */
  t: number
}

export type EndKind = 'eof' | 'close'

export interface Sink {
  write(chunk: Chunk): void
  end(kind: EndKind): void
}

/** what a stage needs from the link that owns it */
export interface StageHost {
  /** bytes dropped by a stage (for the link's flow control) */
  release(bytes: number): void
  /** reset both sockets of the connection (TCP RST) */
  reset(): void
  random(): number
}

/** A first-in first-out queue with O(1) shift. */
class Fifo<T> {
  private items: (T | undefined)[] = []
  private head = 0
  get size(): number {
    return this.items.length - this.head
  }
  push(v: T): void {
    this.items.push(v)
  }
  peek(): T | undefined {
    return this.items[this.head]
  }
  shift(): T | undefined {
    const v = this.items[this.head]
    this.items[this.head++] = undefined
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return v
  }
  clear(): void {
    this.items = []
    this.head = 0
  }
}

export abstract class Stage implements Sink {
  next!: Sink
  active = false
  /** destroyed (connection gone) or removed: must not hand anything on any more */
  dead = false

  constructor(
    readonly toxic: Toxic,
    protected readonly host: StageHost,
  ) {}

  /** roll toxicity and start; called once the stage is wired into the chain */
  start(): void {
    this.active = this.host.random() < this.toxic.toxicity
    if (this.active) this.onStart()
  }

  write(chunk: Chunk): void {
    if (this.active) this.onWrite(chunk)
    else this.next.write(chunk)
  }

  end(kind: EndKind): void {
    if (this.active) this.onEnd(kind)
    else this.next.end(kind)
  }

  /** the toxic changed: re-roll toxicity as Toxiproxy does when it restarts a stub */
  update(): void {
    const was = this.active
    this.active = this.host.random() < this.toxic.toxicity
    if (was && !this.active) this.onFlush()
    else if (!was && this.active) this.onStart()
    else if (this.active) this.onUpdate()
  }

  /** the toxic was removed: hand on what is held (or do the toxic's cleanup) and go quiet */
  remove(): void {
    if (this.active) this.onRemove()
    this.dead = true
  }

  /** the connection is gone: drop everything, stop timers */
  destroy(): void {
    this.dead = true
    this.onDestroy()
  }

  protected onStart(): void {}
  protected onUpdate(): void {}
  protected onRemove(): void {
    this.onFlush()
  }
  protected abstract onWrite(chunk: Chunk): void
  protected abstract onEnd(kind: EndKind): void
  /** hand on everything held now, stop timers */
  protected abstract onFlush(): void
  protected abstract onDestroy(): void
}

/** A stage that holds chunks and lets them go on a schedule (latency, bandwidth, slicer). */
abstract class QueueStage extends Stage {
  protected readonly queue = new Fifo<Chunk>()
  protected pendingEnd: EndKind | null = null
  protected readonly timer = new PreciseTimer(() => this.pump())

  protected get idle(): boolean {
    return this.queue.size === 0 && !this.timer.armed
  }

  protected onWrite(chunk: Chunk): void {
    this.queue.push(chunk)
    if (!this.timer.armed) this.pump()
  }

  protected onEnd(kind: EndKind): void {
    if (this.idle) this.next.end(kind)
    else this.pendingEnd = kind
  }

  /** emit what is due, arm the timer for the rest */
  protected abstract pump(): void

  protected endIfDrained(): void {
    if (this.queue.size === 0 && this.pendingEnd && !this.dead) {
      const kind = this.pendingEnd
      this.pendingEnd = null
      this.next.end(kind)
    }
  }

  protected onFlush(): void {
    this.timer.cancel()
    for (let c = this.queue.shift(); c; c = this.queue.shift()) {
      this.next.write(c)
      if (this.dead) return
    }
    this.endIfDrained()
  }

  protected onDestroy(): void {
    this.timer.cancel()
    this.queue.clear()
    this.pendingEnd = null
  }
}

class LatencyStage extends QueueStage {
  private readonly due = new Fifo<number>()

  protected override onWrite(chunk: Chunk): void {
    const latency = this.toxic.num('latency')
    const jitter = this.toxic.num('jitter')
    // Toxiproxy: latency + rand.Int63n(2*jitter) - jitter, counted from the chunk's timestamp
    const delay = jitter > 0 ? latency + Math.floor(this.host.random() * 2 * jitter) - jitter : latency
    this.due.push(chunk.t + delay)
    super.onWrite(chunk)
  }

  protected pump(): void {
    while (this.queue.size > 0) {
      const due = this.due.peek()!
      if (due - now() > EPSILON_MS) {
        this.timer.arm(due)
        return
      }
      const chunk = this.queue.shift()!
      this.due.shift()
      chunk.t = due
      this.next.write(chunk)
      if (this.dead) return
    }
    this.endIfDrained()
  }

  protected override onFlush(): void {
    this.due.clear()
    super.onFlush()
  }

  protected override onDestroy(): void {
    this.due.clear()
    super.onDestroy()
  }
}

class BandwidthStage extends QueueStage {
  private readonly ownClock = { free: 0 }
  /** the slice of the head chunk that has a departure time */
  private reserved: { bytes: number; due: number } | null = null

  protected pump(): void {
    for (;;) {
      if (this.reserved) {
        const { bytes, due } = this.reserved
        if (due - now() > EPSILON_MS) {
          this.timer.arm(due)
          return
        }
        this.reserved = null
        const head = this.queue.peek()!
        let piece: Chunk
        if (bytes >= head.data.length) {
          this.queue.shift()
          piece = head
        } else {
          piece = { data: head.data.subarray(0, bytes), t: due }
          head.data = head.data.subarray(bytes)
        }
        piece.t = due
        this.next.write(piece)
        if (this.dead) return
      }
      const head = this.queue.peek()
      if (!head) break
      const rate = this.toxic.num('rate') // KB/s = bytes per ms
      if (rate <= 0) {
        this.queue.shift()
        this.next.write(head)
        if (this.dead) return
        continue
      }
      // at most 10 ms worth at a time, on an absolute schedule so timer lateness does not add up
      const bytes = Math.min(head.data.length, Math.max(1, rate * 10))
      const clock = this.toxic.attributes.shared === true ? this.toxic.sharedClock : this.ownClock
      const due = Math.max(clock.free, head.t) + bytes / rate
      clock.free = due
      this.reserved = { bytes, due }
    }
    this.endIfDrained()
  }

  protected override get idle(): boolean {
    return super.idle && this.reserved === null
  }

  protected override onFlush(): void {
    this.reserved = null
    super.onFlush()
  }

  protected override onDestroy(): void {
    this.reserved = null
    super.onDestroy()
  }
}

class SlicerStage extends QueueStage {
  private free = 0

  protected override onWrite(chunk: Chunk): void {
    const bounds = this.slices(chunk.data.length)
    for (let i = 1; i < bounds.length; i++) {
      this.queue.push({ data: chunk.data.subarray(bounds[i - 1], bounds[i]), t: chunk.t })
    }
    if (!this.timer.armed) this.pump()
  }

  /** Toxiproxy's slicing: halve around the middle ± variation until pieces are near the average */
  private slices(size: number): number[] {
    const avg = this.toxic.num('average_size')
    const variation = this.toxic.num('size_variation')
    const out: number[] = [0]
    const rec = (start: number, end: number): void => {
      if (end - start - avg <= variation || end - start < 2) {
        out.push(end)
        return
      }
      const offset = variation > 0 ? Math.floor(this.host.random() * 2 * variation) - variation : 0
      const mid = Math.min(end - 1, Math.max(start + 1, start + Math.floor((end - start) / 2) + offset))
      rec(start, mid)
      rec(mid, end)
    }
    rec(0, size)
    return out
  }

  protected pump(): void {
    const delayMs = this.toxic.num('delay') / 1000
    while (this.queue.size > 0) {
      const head = this.queue.peek()!
      const due = Math.max(this.free, head.t)
      if (due - now() > EPSILON_MS) {
        this.timer.arm(due)
        return
      }
      this.queue.shift()
      this.free = due + delayMs
      this.next.write(head)
      if (this.dead) return
    }
    this.endIfDrained()
  }
}

class SlowCloseStage extends Stage {
  private timer: NodeJS.Timeout | null = null
  private pending: EndKind | null = null

  protected onWrite(chunk: Chunk): void {
    this.next.write(chunk)
  }

  protected onEnd(kind: EndKind): void {
    const delay = this.toxic.num('delay')
    if (delay <= 0) return this.next.end(kind)
    this.pending = kind
    this.timer = after(delay, () => {
      this.timer = null
      this.pending = null
      if (!this.dead) this.next.end(kind)
    })
  }

  protected onFlush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const kind = this.pending
    this.pending = null
    if (kind) this.next.end(kind)
  }

  protected onDestroy(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.pending = null
  }
}

class TimeoutStage extends Stage {
  private timer: NodeJS.Timeout | null = null
  private ended = false
  /** some bytes were dropped: the stream is corrupt */
  private dropped = false
  /** with `hold: true`: what waits for the toxic to go */
  private held: Chunk[] = []
  private heldEnd: EndKind | null = null

  protected override onStart(): void {
    this.arm()
  }

  protected override onUpdate(): void {
    this.arm() // Toxiproxy restarts the toxic, and so its clock
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const timeout = this.toxic.num('timeout')
    if (timeout > 0 && !this.ended) {
      this.timer = after(timeout, () => {
        this.timer = null
        this.dropHeld()
        this.close()
      })
    }
  }

  private close(): void {
    if (this.ended || this.dead) return
    this.ended = true
    this.next.end('close')
  }

  protected onWrite(chunk: Chunk): void {
    if (this.toxic.attributes.hold === true) {
      this.held.push(chunk) // not released: the link stops reading, the sender's window fills
    } else {
      this.dropped = true
      this.host.release(chunk.data.length) // dropped on the floor, as Toxiproxy does
    }
  }

  protected onEnd(kind: EndKind): void {
    if (this.ended) return
    if (this.toxic.attributes.hold === true) {
      this.heldEnd = kind // a partition holds the FIN too
      return
    }
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.ended = true
    this.next.end(kind)
  }

  private dropHeld(): void {
    for (const chunk of this.held) this.host.release(chunk.data.length)
    this.held = []
  }

  /** stop the clock; hand on what was held */
  protected onFlush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const held = this.held
    this.held = []
    for (const chunk of held) {
      this.next.write(chunk)
      if (this.dead) return
    }
    const end = this.heldEnd
    this.heldEnd = null
    if (end && !this.ended) {
      this.ended = true
      this.next.end(end)
    }
  }

  /**
   * Removed: if bytes were dropped the stream is corrupt, so the connection is closed
   * (Toxiproxy's Cleanup); if they were all held (`hold: true`), they flow again.
   */
  protected override onRemove(): void {
    this.onFlush()
    if (this.dropped) this.close()
  }

  protected onDestroy(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.held = []
    this.heldEnd = null
  }
}

class ResetPeerStage extends Stage {
  private timer: NodeJS.Timeout | null = null

  private trigger(): void {
    if (this.timer) return
    this.timer = after(this.toxic.num('timeout'), () => this.host.reset())
  }

  protected onWrite(chunk: Chunk): void {
    this.host.release(chunk.data.length)
    this.trigger()
  }

  protected onEnd(): void {
    this.trigger()
  }

  /** once armed, the reset happens even if the toxic goes away (as in Toxiproxy) */
  protected onFlush(): void {}

  protected onDestroy(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }
}

class LimitDataStage extends Stage {
  private transmitted = 0
  private closed = false

  protected onWrite(chunk: Chunk): void {
    if (this.closed) return this.host.release(chunk.data.length)
    const limit = this.toxic.num('bytes')
    const remaining = Math.max(0, limit - this.transmitted)
    let out = chunk
    if (remaining < chunk.data.length) {
      this.host.release(chunk.data.length - remaining)
      out = { data: chunk.data.subarray(0, remaining), t: chunk.t }
    }
    if (out.data.length > 0) {
      this.transmitted += out.data.length
      this.next.write(out)
      if (this.dead) return
    }
    if (limit - this.transmitted <= 0) {
      this.closed = true
      this.next.end('close')
    }
  }

  protected onEnd(kind: EndKind): void {
    if (this.closed) return
    this.closed = true
    this.next.end(kind)
  }

  protected onFlush(): void {}
  protected onDestroy(): void {}
}

const STAGES: Record<ToxicType, new (toxic: Toxic, host: StageHost) => Stage> = {
  latency: LatencyStage,
  bandwidth: BandwidthStage,
  slow_close: SlowCloseStage,
  timeout: TimeoutStage,
  reset_peer: ResetPeerStage,
  slicer: SlicerStage,
  limit_data: LimitDataStage,
}

export function createStage(toxic: Toxic, host: StageHost): Stage {
  return new STAGES[toxic.type](toxic, host)
}
