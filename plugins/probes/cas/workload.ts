/**
 * The cas-correctness workload and its history: concurrent clients run reads, blind writes and
 * compare-and-set operations on a few register keys, and CAS increments on one counter key; every
 * operation goes to a JSONL history (src/checkers/history-formats/jsonl.ts) as an invocation and a
 * completion, timed on the monotonic clock:
 *
 *   ok    completed: the read value / the write or cas applied
 *   fail  completed without effect: a cas whose compare failed; a read or write that was refused
 *   info  outcome unknown (a timeout, a connection lost mid-flight, a refused cas): it may take
 *         effect any time after its invocation, or never. The client then takes a new process id,
 *         as a crashed Jepsen process does.
 *
 * Register values are unique integers, so a cas on "the version I read" is a cas on "the value I
 * read" (cas(from → to) in the model). Keeping the search tractable, as the checker asks:
 * blind writes are rare (an indeterminate blind write can land anywhere), a cas needs a value the
 * client read, and at most `maxInFlightPerKey` operations run on a key at once.
 */
import { StoreError, type CasStore, type CasValue, type Versioned } from './stores.ts'
import { LineFileWriter, formatJsonlEvent, sleep, type JsonlEvent, type Rng } from '../../../src/api/index.ts'

export const COUNTER_KEY = 'counter'

/** Append-only JSONL history, written in blocks (synchronously, so event order is file order). */
export class CasHistoryWriter extends LineFileWriter {
  constructor(path: string) {
    super(path, 'w', 'history')
  }

  event(e: JsonlEvent & { error?: string; version?: number }): void {
    this.append(formatJsonlEvent(e) + '\n')
  }

  /** flushing a closed history is a no-op: everything was written when it closed */
  override flush(): void {
    if (!this.closed) super.flush()
  }
}

export interface Mix {
  read: number
  write: number
  cas: number
}

export interface WorkloadOptions {
  /** register keys (the counter comes on top) */
  keys: string[]
  counter: boolean
  clients: number
  /** operations per second, all clients together */
  rate: number
  mix: Mix
  maxInFlightPerKey: number
  rng: Rng
}

export interface WorkloadCounters {
  ops: number
  /** cas operations in flight together with another cas on the same key from the same version */
  contendedCas: number
  ok: number
  failed: number
  indeterminate: number
  /** cas that found another value (a completed `fail`) */
  compareFailed: number
  /** errors by cause (timeout, no-responders, api-10008…) */
  causes: Record<string, number>
  counterAcked: number
  counterIndeterminate: number
}

/** Two compare-and-sets acknowledged from the same version of a key: the plainest lost update. */
export interface SameVersionCas {
  key: string
  /** the version both expected */
  expected: number
  /** the versions the store answered for each, in completion order */
  versions: [number, number]
  values: [number, number]
  /** completion times (history ms) */
  times: [number, number]
}

type Op = { f: 'read'; key: string } | { f: 'write'; key: string; value: number } | { f: 'cas'; key: string; expected: Versioned; to: number }

export class CasWorkload {
  readonly counters: WorkloadCounters = {
    ops: 0,
    contendedCas: 0,
    ok: 0,
    failed: 0,
    indeterminate: 0,
    compareFailed: 0,
    causes: {},
    counterAcked: 0,
    counterIndeterminate: 0,
  }
  private readonly t0 = performance.now()
  private nextProcess = 0
  private nextValue = 1
  private running = false
  private loops: Promise<void>[] = []
  private readonly inFlight = new Map<string, number>()
  /** key → the cas operations in flight on it: the version each expects, and whether another met it */
  private readonly casInFlight = new Map<string, { expected: number; contended: boolean }[]>()
  /** key → expected version → the first cas acknowledged from it */
  private readonly casFrom = new Map<string, Map<number, { version: number; value: number; time: number }>>()
  readonly sameVersionCas: SameVersionCas[] = []
  /** every key operated on (contention mode adds keys as it moves on), the counter's last */
  readonly allKeys: string[]
  /** the counter's keys (contention mode may move the counter to a fresh key: the count is their sum) */
  readonly counterKeys: string[]

  constructor(
    private readonly store: CasStore,
    private readonly history: CasHistoryWriter,
    private readonly opts: WorkloadOptions,
  ) {
    this.allKeys = [...opts.keys, ...(opts.counter ? [COUNTER_KEY] : [])]
    this.counterKeys = opts.counter ? [COUNTER_KEY] : []
  }

  /** Registers a key taken into use after the start (contention mode). */
  addKey(key: string, counter: boolean): void {
    if (this.allKeys.includes(key)) return
    this.allKeys.push(key)
    if (counter) this.counterKeys.push(key)
  }

  /** The counter's value: the sum over its keys (undefined when one could not be read). */
  counterValue(values: Record<string, CasValue>): number | undefined {
    let sum = 0
    for (const k of this.counterKeys) {
      if (!(k in values)) return undefined
      sum += values[k] ?? 0
    }
    return sum
  }

  /** ms since the workload was created: the histories' `time` */
  now(): number {
    return Math.round((performance.now() - this.t0) * 1000) / 1000
  }

  get originPerf(): number {
    return this.t0
  }

  newProcess(): number {
    return this.nextProcess++
  }

  /** A register value never written before (values are unique, so a cas on a version is a cas on a value). */
  nextRegisterValue(): number {
    return this.nextValue++
  }

  get isRunning(): boolean {
    return this.running
  }

  /** Runs `loops` until stop() (contention mode brings its own rounds instead of the mixed clients). */
  startWith(loops: () => Promise<void>[]): void {
    this.running = true
    this.loops.push(...loops())
  }

  start(): void {
    this.running = true
    const interval = (1000 * this.opts.clients) / this.opts.rate
    for (let c = 0; c < this.opts.clients; c++) {
      const rng = this.opts.rng.fork(`client:${c}`)
      this.loops.push(this.client(rng, interval, (interval * c) / this.opts.clients))
    }
  }

  async stop(): Promise<void> {
    this.running = false
    await Promise.all(this.loops)
    this.history.flush()
  }

  private async client(rng: Rng, interval: number, offset: number): Promise<void> {
    let process = this.newProcess()
    const known = new Map<string, Versioned>()
    let next = performance.now() + offset
    while (this.running) {
      const wait = next - performance.now()
      if (wait > 0) await sleep(wait)
      if (!this.running) break
      const key = this.pickKey(rng)
      if (key === undefined) {
        await sleep(5)
        next = performance.now()
        continue
      }
      const op = this.chooseOp(rng, key, known.get(key))
      const r = await this.execute(process, op)
      if (r.status === 'ok') {
        if (op.f === 'read') known.set(key, r.read!)
        else if (op.f === 'write') known.set(key, { value: op.value, version: r.version! })
        else known.set(key, { value: op.to, version: r.version! })
      } else {
        known.delete(key)
      }
      if (r.status === 'info') process = this.newProcess()
      next = Math.max(next + interval, performance.now())
    }
  }

  private pickKey(rng: Rng): string | undefined {
    const free = this.allKeys.filter((k) => (this.inFlight.get(k) ?? 0) < this.opts.maxInFlightPerKey)
    return free.length ? free[rng.int(free.length)] : undefined
  }

  /** What to do with `key`, given what this client last saw of it. */
  chooseOp(rng: Rng, key: string, seen: Versioned | undefined): Op {
    if (key === COUNTER_KEY) {
      // the counter only moves by CAS increments; reading first when the client does not know it
      if (!seen) return { f: 'read', key }
      return { f: 'cas', key, expected: seen, to: (seen.value ?? 0) + 1 }
    }
    const { read, cas } = this.opts.mix
    const write = this.store.write ? this.opts.mix.write : 0
    const x = rng.next() * (read + write + cas)
    if (x < read) return { f: 'read', key }
    if (x < read + write) return { f: 'write', key, value: this.nextRegisterValue() }
    // a cas needs the value it expects: read first
    if (!seen) return { f: 'read', key }
    return { f: 'cas', key, expected: seen, to: this.nextRegisterValue() }
  }

  /** Runs one operation and records it (invocation, then completion). */
  async execute(process: number, op: Op): Promise<{ status: 'ok' | 'fail' | 'info'; read?: Versioned; version?: number }> {
    const key = op.key
    const value: unknown = op.f === 'read' ? null : op.f === 'write' ? op.value : [op.expected.value, op.to]
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1)
    const cas = op.f === 'cas' ? this.casStarted(key, op.expected.version) : undefined
    this.counters.ops++
    this.history.event({ process, type: 'invoke', f: op.f, key, value, time: this.now() })
    // `version` (the store's, for forensics) and `error` are extra fields the checker ignores
    const done = (type: 'ok' | 'fail' | 'info', v: unknown, extra?: { error?: string; version?: number }) =>
      this.history.event({ process, type, f: op.f, key, value: v, time: this.now(), ...extra })
    try {
      if (op.f === 'read') {
        const read = await this.store.read(key)
        done('ok', read.value, { version: read.version })
        this.counters.ok++
        return { status: 'ok', read }
      }
      if (op.f === 'write') {
        const { version } = await this.store.write!(key, op.value)
        done('ok', value, { version })
        this.counters.ok++
        return { status: 'ok', version }
      }
      const answer = await this.store.cas(key, op.expected, op.to)
      if (answer.ok) {
        const time = this.now()
        done('ok', value, { version: answer.version })
        this.counters.ok++
        this.noteCas(key, op.expected.version, answer.version, op.to, time)
        if (this.counterKeys.includes(key)) this.counters.counterAcked++
        return { status: 'ok', version: answer.version }
      }
      done('fail', value)
      this.counters.failed++
      this.counters.compareFailed++
      return { status: 'fail' }
    } catch (err) {
      const e = err instanceof StoreError ? err : new StoreError((err as Error)?.message ?? String(err), false, (err as Error)?.name ?? 'error')
      this.counters.causes[e.errorClass] = (this.counters.causes[e.errorClass] ?? 0) + 1
      // a refused read or write certainly did nothing: `fail` (the checker drops them). A refused
      // cas is recorded `info`, never `fail`: in the model a failed cas means "the value was not
      // `from`", which a refusal does not say.
      if (e.definite && op.f !== 'cas') {
        done('fail', value, { error: e.errorClass })
        this.counters.failed++
        return { status: 'fail' }
      }
      done('info', value, { error: e.errorClass })
      this.counters.indeterminate++
      if (op.f === 'cas' && this.counterKeys.includes(key)) this.counters.counterIndeterminate++
      return { status: 'info' }
    } finally {
      this.inFlight.set(key, this.inFlight.get(key)! - 1)
      if (cas) this.casEnded(key, cas)
    }
  }

  /** A cas starts: it is contended when another cas on the key, still in flight, expects the same version. */
  private casStarted(key: string, expected: number): { expected: number; contended: boolean } {
    let list = this.casInFlight.get(key)
    if (!list) this.casInFlight.set(key, (list = []))
    const entry = { expected, contended: false }
    for (const other of list) {
      if (other.expected !== expected) continue
      other.contended = true
      entry.contended = true
    }
    list.push(entry)
    return entry
  }

  private casEnded(key: string, entry: { expected: number; contended: boolean }): void {
    const list = this.casInFlight.get(key)!
    list.splice(list.indexOf(entry), 1)
    if (entry.contended) this.counters.contendedCas++
  }

  /**
   * Remembers which cas was acknowledged from which version. Versions identify one write each
   * (a KV revision, a Redis counter while the server keeps its data), so a second cas
   * acknowledged from the same version overwrote the first without seeing it.
   */
  private noteCas(key: string, expected: number, version: number, value: number, time: number): void {
    let byVersion = this.casFrom.get(key)
    if (!byVersion) this.casFrom.set(key, (byVersion = new Map()))
    const first = byVersion.get(expected)
    if (!first) {
      byVersion.set(expected, { version, value, time })
      return
    }
    if (this.sameVersionCas.length < 100)
      this.sameVersionCas.push({ key, expected, versions: [first.version, version], values: [first.value, value], times: [first.time, time] })
  }

  /**
   * The final read of every key, recorded like any read (a lost write shows as a read that
   * cannot follow it). Retries each key until `deadline` (performance.now()); the counter's value
   * is returned (undefined when it could not be read).
   */
  async finalRead(deadline: number): Promise<{ values: Record<string, CasValue>; unread: string[] }> {
    const values: Record<string, CasValue> = {}
    const unread: string[] = []
    for (const key of this.allKeys) {
      let done = false
      while (!done) {
        const r = await this.execute(this.newProcess(), { f: 'read', key })
        if (r.status === 'ok') {
          values[key] = r.read!.value
          done = true
        } else if (performance.now() > deadline) {
          unread.push(key)
          done = true
        } else await sleep(250)
      }
    }
    this.history.flush()
    return { values, unread }
  }
}

/** The no-lost-update invariant on the CAS counter. */
export function counterInvariant(final: CasValue | undefined, acked: number, indeterminate: number): { lostUpdates: number; phantomIncrements: number } {
  if (final === undefined) return { lostUpdates: NaN, phantomIncrements: NaN }
  const value = final ?? 0
  return { lostUpdates: Math.max(0, acked - value), phantomIncrements: Math.max(0, value - acked - indeterminate) }
}
