/**
 * Durability checker: Jepsen's queue-checker arithmetic for JetStream publishes.
 *
 * Input: publish attempts (writer, value, outcome, stream seq, publish time) and the values a final
 * drain read back. Outcomes: `ack` (the stream acknowledged it, with its seq), `fail` (the publish
 * was refused), `info` (timed out / connection lost: indeterminate — the message may have been
 * stored, so it is never counted as a failure). Each value names one message; `p` lines repeating a
 * value are retries of that message (outcome: ack if any attempt was acked, else info if any was
 * indeterminate, else fail).
 *
 * Output (counts of distinct values):
 *   attempted      messages published at least once
 *   acknowledged   … acked
 *   failed         … refused on every attempt
 *   indeterminate  … never acked, at least one attempt timed out
 *   read           distinct values read back (reads = read lines, duplicates included)
 *   lost           acknowledged and never read                          ← violation
 *   unexpected     read but never published                              ← violation
 *   duplicated     read more than once
 *   recovered      indeterminate and read
 *   unknown        indeterminate and not read
 *   failedButRead  reported failed, yet read: a client-semantics finding (not a violation)
 * and, per writer, where its lost values lie relative to its values that were read, in publish
 * order (by publish time, then file order): before the first (lostPrefix), between the first and
 * the last (lostMiddle), after the last (lostPostfix). A writer none of whose values were read has
 * all its lost values in its prefix. `firstLost` lists the earliest lost values (writer, value,
 * publish time, seq) to line them up with the fault timeline. Valid = nothing lost, nothing
 * unexpected (duplicates are allowed: delivery is at least once).
 *
 * ## File format (streamable, one event a line, written by DurabilityHistoryWriter)
 *
 *     # gameday durability history v1
 *     p <writer> <value> <a|f|i> <seq|-> <at|->
 *     r <value> [<seq|->]
 *
 *   writer  integer ≥ 0, the publishing client
 *   value   integer 0 ≤ value < 2^53, unique per message (e.g. a global counter, or
 *           writer × 2^32 + per-writer counter); the payload carries it so the drain can read it back
 *   a|f|i   ack | fail | info (indeterminate)
 *   seq     the stream sequence of the ack (`-` when none); on `r`, the sequence it was read at
 *   at      publish time in ms (decimal, monotonic clock), `-` when unknown
 * `#` lines and empty lines are ignored; `p` and `r` lines may interleave in any order.
 *
 * Why not JSONL: JSON.parse per line takes ~1.2 s and ~240 MB for 2 M events, over the budget
 * (1 M acknowledged messages checked in < 1 s and < 200 MB as a whole process). This format is
 * parsed by hand from a 1 MiB buffer read in chunks; values live in typed arrays and one
 * open-addressing hash table (value → slot), never in Sets of strings.
 */
import { closeSync, openSync, readSync } from 'node:fs'
import { LineFileWriter } from '../util/line-file.ts'

export type PublishOutcome = 'ack' | 'fail' | 'info'

const ACK = 1
const INFO = 2
const FAIL = 3
/** lower is better when merging retries */
const OUTCOME_CODE: Record<PublishOutcome, number> = { ack: ACK, info: INFO, fail: FAIL }

export interface LostValue {
  writer: number
  value: number
  /** publish time (ms), NaN when unknown */
  at: number
  /** stream seq of the ack, NaN when unknown */
  seq: number
}

export interface UnexpectedValue {
  value: number
  /** the seq it was first read at, NaN when unknown */
  seq: number
}

export interface WriterSummary {
  writer: number
  attempted: number
  acknowledged: number
  read: number
  lost: number
  lostPrefix: number
  lostMiddle: number
  lostPostfix: number
}

export interface DurabilityResult {
  /** no value was lost or unexpected (true for an empty history too: see noEvidence) */
  valid: boolean
  /** nothing was acknowledged, so nothing could have been lost: a valid result on no evidence is not a pass */
  noEvidence: boolean
  attempted: number
  acknowledged: number
  failed: number
  indeterminate: number
  read: number
  reads: number
  lost: number
  unexpected: number
  duplicated: number
  recovered: number
  unknown: number
  failedButRead: number
  lostPrefix: number
  lostMiddle: number
  lostPostfix: number
  /** publish lines repeating a value already published */
  retries: number
  writers: WriterSummary[]
  firstLost: LostValue[]
  firstUnexpected: UnexpectedValue[]
}

export interface DurabilityCheckOptions {
  /** how many lost (and unexpected) values to list (default 20) */
  firstN?: number
}

function growF64(a: Float64Array, size: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(size)
  b.set(a)
  return b
}
function growI32(a: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(size)
  b.set(a)
  return b
}
function growU8(a: Uint8Array, size: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(size)
  b.set(a)
  return b
}

const TWO_32 = 4294967296

/**
 * A durability history being accumulated: publishes and reads, in any order. Events are appended
 * to typed arrays (29 bytes a publish, 16 a read); `check()` then indexes values either densely
 * (an array over [min, max] when values are a compact range, e.g. a counter) or with an
 * open-addressing hash table, and does the arithmetic in a few linear passes.
 */
export class DurabilityHistory {
  // publish lines, in file order
  private pubCount = 0
  private pubWriter = new Int32Array(1024)
  private pubValue = new Float64Array(1024)
  private pubOutcome = new Uint8Array(1024)
  private pubSeq = new Float64Array(1024)
  private pubAt = new Float64Array(1024)
  // read lines
  private readCount = 0
  private readValue = new Float64Array(1024)
  private readSeq = new Float64Array(1024)
  private minValue = Infinity
  private maxValue = -Infinity
  private writerIndex = new Map<number, number>()
  private writerIds: number[] = []
  private lastWriterId = NaN
  private lastWriterIdx = -1

  /** publish lines recorded (retries included) */
  get publishes(): number {
    return this.pubCount
  }

  /** read lines recorded (duplicates included) */
  get reads(): number {
    return this.readCount
  }

  /** Records a publish attempt. `seq` and `at` may be NaN / undefined when unknown. */
  publish(writer: number, value: number, outcome: PublishOutcome, seq?: number, at?: number): void {
    const code = OUTCOME_CODE[outcome]
    if (code === undefined) throw new Error(`invalid publish outcome ${JSON.stringify(outcome)}`)
    checkValue(value)
    if (!Number.isInteger(writer) || writer < 0) throw new Error(`invalid writer ${writer}`)
    this.publishCode(writer, value, code, seq ?? NaN, at ?? NaN)
  }

  /** Records a value read back by the drain (`seq` = the stream seq it was read at). */
  read(value: number, seq?: number): void {
    checkValue(value)
    this.readCode(value, seq ?? NaN)
  }

  /** @internal hot path of the file reader: arguments already checked, the outcome coded */
  publishCode(writer: number, value: number, code: number, seq: number, at: number): void {
    let w: number
    if (writer === this.lastWriterId) w = this.lastWriterIdx
    else {
      let idx = this.writerIndex.get(writer)
      if (idx === undefined) {
        idx = this.writerIds.length
        this.writerIds.push(writer)
        this.writerIndex.set(writer, idx)
      }
      this.lastWriterId = writer
      this.lastWriterIdx = w = idx
    }
    const i = this.pubCount
    if (i === this.pubValue.length) {
      const size = i * 2
      this.pubWriter = growI32(this.pubWriter, size)
      this.pubValue = growF64(this.pubValue, size)
      this.pubOutcome = growU8(this.pubOutcome, size)
      this.pubSeq = growF64(this.pubSeq, size)
      this.pubAt = growF64(this.pubAt, size)
    }
    this.pubWriter[i] = w
    this.pubValue[i] = value
    this.pubOutcome[i] = code
    this.pubSeq[i] = code === ACK ? seq : NaN
    this.pubAt[i] = at
    this.pubCount = i + 1
    if (value < this.minValue) this.minValue = value
    if (value > this.maxValue) this.maxValue = value
  }

  /** @internal hot path of the file reader */
  readCode(value: number, seq: number): void {
    const i = this.readCount
    if (i === this.readValue.length) {
      this.readValue = growF64(this.readValue, i * 2)
      this.readSeq = growF64(this.readSeq, i * 2)
    }
    this.readValue[i] = value
    this.readSeq[i] = seq
    this.readCount = i + 1
    if (value < this.minValue) this.minValue = value
    if (value > this.maxValue) this.maxValue = value
  }

  check(opts: DurabilityCheckOptions = {}): DurabilityResult {
    const firstN = opts.firstN ?? 20
    if (!Number.isInteger(firstN) || firstN < 0) throw new RangeError(`firstN must be a whole number ≥ 0, got ${firstN}`)
    const lines = this.pubCount
    const W = this.writerIds.length
    const { pubWriter, pubValue, pubAt, readValue } = this
    const outcome = this.pubOutcome.slice(0, lines) // merged per message; 0 = a retry line
    const seqOf = this.pubSeq.slice(0, lines)
    const index = ValueIndex.for(this.minValue, this.maxValue, lines + this.readCount)
    // messages: the first publish line of each value; retries merge into it
    let retries = 0
    for (let i = 0; i < lines; i++) {
      const s = index.slot(pubValue[i])
      const first = index.pub[s]
      if (first === FREE) {
        index.pub[s] = i
        continue
      }
      retries++
      const code = outcome[i]
      outcome[i] = 0
      if (code < outcome[first]) {
        outcome[first] = code
        if (code === ACK) seqOf[first] = seqOf[i]
      }
    }
    for (let r = 0; r < this.readCount; r++) {
      const s = index.slot(readValue[r])
      if (index.pub[s] === FREE) index.pub[s] = NEVER_PUBLISHED
      if (index.reads[s] < 255) index.reads[s]++
    }
    // per message: how often it was read
    const readTimes = new Uint8Array(lines)
    let read = 0
    let duplicated = 0
    let unexpected = 0
    const cap = index.pub.length
    for (let s = 0; s < cap; s++) {
      const p = index.pub[s]
      if (p === FREE) continue
      const r = index.reads[s]
      if (r > 0) read++
      if (r > 1) duplicated++
      if (p >= 0) readTimes[p] = r
      else unexpected++
    }
    const firstUnexpected: UnexpectedValue[] = []
    if (unexpected > 0 && firstN > 0) {
      for (let r = 0; r < this.readCount && firstUnexpected.length < firstN; r++) {
        const s = index.slot(readValue[r])
        if (index.pub[s] !== NEVER_PUBLISHED) continue
        index.pub[s] = LISTED
        firstUnexpected.push({ value: readValue[r], seq: this.readSeq[r] })
      }
    }

    const writers: WriterSummary[] = this.writerIds.map((writer) => ({
      writer,
      attempted: 0,
      acknowledged: 0,
      read: 0,
      lost: 0,
      lostPrefix: 0,
      lostMiddle: 0,
      lostPostfix: 0,
    }))
    let attempted = 0
    let acknowledged = 0
    let failed = 0
    let indeterminate = 0
    let lost = 0
    let recovered = 0
    let unknown = 0
    let failedButRead = 0
    // publish order per writer: file order, unless its publish times say otherwise
    const lastAt = new Float64Array(W).fill(-Infinity)
    const unsorted = new Uint8Array(W)
    for (let i = 0; i < lines; i++) {
      const o = outcome[i]
      if (o === 0) continue
      const w = pubWriter[i]
      const ws = writers[w]
      attempted++
      ws.attempted++
      const wasRead = readTimes[i] > 0
      if (wasRead) ws.read++
      if (o === ACK) {
        acknowledged++
        ws.acknowledged++
        if (!wasRead) {
          lost++
          ws.lost++
        }
      } else if (o === INFO) {
        indeterminate++
        if (wasRead) recovered++
        else unknown++
      } else {
        failed++
        if (wasRead) failedButRead++
      }
      const at = pubAt[i]
      if (at < lastAt[w]) unsorted[w] = 1
      else if (at === at) lastAt[w] = at
    }
    // lost prefix / middle / postfix: rank of each message in its writer's publish order, and the
    // ranks of each writer's first and last message read
    const rank = this.publishRanks(outcome, unsorted)
    const firstRead = new Int32Array(W).fill(-1)
    const lastRead = new Int32Array(W).fill(-1)
    for (let i = 0; i < lines; i++) {
      if (readTimes[i] === 0 || outcome[i] === 0) continue
      const w = pubWriter[i]
      const pos = rank[i]
      if (firstRead[w] < 0 || pos < firstRead[w]) firstRead[w] = pos
      if (pos > lastRead[w]) lastRead[w] = pos
    }
    let lostPrefix = 0
    let lostMiddle = 0
    let lostPostfix = 0
    const firstLost: number[] = [] // message indices, sorted by publish time
    for (let i = 0; i < lines; i++) {
      if (outcome[i] !== ACK || readTimes[i] > 0) continue
      const w = pubWriter[i]
      const ws = writers[w]
      const pos = rank[i]
      if (firstRead[w] < 0 || pos < firstRead[w]) {
        lostPrefix++
        ws.lostPrefix++
      } else if (pos > lastRead[w]) {
        lostPostfix++
        ws.lostPostfix++
      } else {
        lostMiddle++
        ws.lostMiddle++
      }
      insertEarliest(firstLost, i, firstN, pubAt)
    }
    return {
      valid: lost === 0 && unexpected === 0,
      noEvidence: acknowledged === 0,
      attempted,
      acknowledged,
      failed,
      indeterminate,
      read,
      reads: this.readCount,
      lost,
      unexpected,
      duplicated,
      recovered,
      unknown,
      failedButRead,
      lostPrefix,
      lostMiddle,
      lostPostfix,
      retries,
      writers,
      firstLost: firstLost.map((i) => ({ writer: this.writerIds[pubWriter[i]], value: pubValue[i], at: pubAt[i], seq: seqOf[i] })),
      firstUnexpected,
    }
  }

  /**
   * The rank of each message in its writer's publish order: file order, except for writers whose
   * publish times are out of file order (e.g. completions logged as they came), sorted by time.
   */
  private publishRanks(outcome: Uint8Array, unsorted: Uint8Array): Int32Array {
    const n = this.pubCount
    const { pubWriter, pubAt } = this
    const rank = new Int32Array(n)
    const seen = new Int32Array(this.writerIds.length)
    for (let i = 0; i < n; i++) if (outcome[i] !== 0) rank[i] = seen[pubWriter[i]]++
    if (!unsorted.includes(1)) return rank
    const byWriter = new Map<number, number[]>()
    for (let i = 0; i < n; i++) {
      const w = pubWriter[i]
      if (!unsorted[w] || outcome[i] === 0) continue
      let list = byWriter.get(w)
      if (!list) byWriter.set(w, (list = []))
      list.push(i)
    }
    const key = (i: number) => (pubAt[i] === pubAt[i] ? pubAt[i] : -Infinity)
    for (const list of byWriter.values()) {
      list.sort((a, b) => key(a) - key(b) || a - b)
      for (let k = 0; k < list.length; k++) rank[list[k]] = k
    }
    return rank
  }
}

const FREE = -1
const NEVER_PUBLISHED = -2
const LISTED = -3

/**
 * value → slot, with per-slot `pub` (first publish line, FREE, NEVER_PUBLISHED) and `reads`.
 * Dense when the values span a range at most 4× the number of events (one slot per value in
 * [min, max], no hashing, sequential access for counters), else an open-addressing hash table
 * (load ≤ 1/2).
 */
class ValueIndex {
  pub: Int32Array
  reads: Uint8Array
  private keys: Float64Array | undefined
  private mask = 0

  private constructor(
    private readonly min: number,
    size: number,
    hashed: boolean,
  ) {
    this.pub = new Int32Array(size).fill(FREE)
    this.reads = new Uint8Array(size)
    if (hashed) {
      this.keys = new Float64Array(size)
      this.mask = size - 1
    }
  }

  static for(min: number, max: number, events: number): ValueIndex {
    if (events === 0) return new ValueIndex(0, 1, false)
    const range = max - min + 1
    if (range <= Math.max(4 * events, 1 << 16)) return new ValueIndex(min, range, false)
    let size = 1024
    while (size < 2 * events) size *= 2
    return new ValueIndex(min, size, true)
  }

  /** the slot of `value`; a new value claims a free slot, whose `pub` the caller must then set */
  slot(value: number): number {
    const keys = this.keys
    if (keys === undefined) return value - this.min
    const mask = this.mask
    let s = hashValue(value) & mask
    for (;;) {
      if (this.pub[s] === FREE) {
        keys[s] = value
        return s
      }
      if (keys[s] === value) return s
      s = (s + 1) & mask
    }
  }
}

/** Keeps `list` the `max` earliest message indices by publish time (then index). */
function insertEarliest(list: number[], i: number, max: number, at: Float64Array): void {
  if (max <= 0) return
  const t = at[i] === at[i] ? at[i] : Infinity
  const later = (j: number) => {
    const tj = at[j] === at[j] ? at[j] : Infinity
    return tj > t || (tj === t && j > i)
  }
  if (list.length === max && !later(list[max - 1])) return
  let k = list.length
  if (k === max) k--
  else list.push(i)
  while (k > 0 && later(list[k - 1])) {
    list[k] = list[k - 1]
    k--
  }
  list[k] = i
}

function checkValue(value: number): void {
  if (!(value >= 0 && value <= Number.MAX_SAFE_INTEGER && Math.floor(value) === value)) {
    throw new Error(`invalid value ${value}: values are integers 0 ≤ v < 2^53`)
  }
}

function hashValue(v: number): number {
  const lo = v >>> 0
  const hi = (v / TWO_32) >>> 0
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

/** Checks publishes and reads given as arrays (the file-free API; the CLI's checkDurability reads files). */
export function checkDurabilityEvents(
  publishes: Iterable<{ writer: number; value: number; outcome: PublishOutcome; seq?: number; at?: number }>,
  reads: Iterable<{ value: number; seq?: number } | number>,
  opts?: DurabilityCheckOptions,
): DurabilityResult {
  const h = new DurabilityHistory()
  for (const p of publishes) h.publish(p.writer, p.value, p.outcome, p.seq, p.at)
  for (const r of reads) {
    if (typeof r === 'number') h.read(r)
    else h.read(r.value, r.seq)
  }
  return h.check(opts)
}

// ---------------------------------------------------------------------------------------------
// File format: reader and writer

export class DurabilityParseError extends Error {
  override name = 'DurabilityParseError'
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`)
  }
}

export const DURABILITY_HEADER = '# gameday durability history v1'

const CHUNK = 1 << 20
const NL = 10
const CR = 13
const SP = 32
const TAB = 9
const HASH = 35
const DASH = 45
const DOT = 46
const ZERO = 48
const NINE = 57

/**
 * Parses the complete lines of buf[start, end) (the last one may lack its newline only at end of
 * file) into `history`. One pass over the bytes, numbers decoded in place.
 */
class LineParser {
  line = 0

  constructor(
    readonly file: string,
    readonly history: DurabilityHistory,
  ) {}

  fail(reason: string): never {
    throw new DurabilityParseError(this.file, this.line, reason)
  }

  parse(buf: Uint8Array, start: number, end: number): void {
    const history = this.history
    let p = start
    while (p < end) {
      this.line++
      let c = buf[p]
      while ((c === SP || c === TAB || c === CR) && p < end) c = buf[++p]
      if (p >= end) break
      if (c === NL) {
        p++
        continue
      }
      if (c === HASH) {
        while (p < end && buf[p] !== NL) p++
        p++
        continue
      }
      const kind = c
      p++
      // fields: up to 5 after the kind letter
      let writer = 0
      let value = 0
      let code = 0
      let seq = NaN
      let at = NaN
      let field = 0
      const fields = kind === 112 /* p */ ? 5 : kind === 114 /* r */ ? 2 : -1
      if (fields < 0) this.fail(`expected a "p" or "r" line, got ${JSON.stringify(String.fromCharCode(kind))}`)
      for (;;) {
        // blanks before the next field, or the end of the line
        const before = p
        while (p < end && ((c = buf[p]) === SP || c === TAB || c === CR)) p++
        if (p >= end || buf[p] === NL) break
        if (p === before) this.fail(field === 0 ? 'expected a space' : 'expected a space between fields')
        if (field === fields) this.fail('unexpected text at the end of the line')
        c = buf[p]
        const isPub = kind === 112
        if (isPub && field === 2) {
          // outcome letter
          code = c === 97 /* a */ ? ACK : c === 105 /* i */ ? INFO : c === 102 /* f */ ? FAIL : 0
          p++
          if (code === 0 || (p < end && buf[p] !== SP && buf[p] !== TAB && buf[p] !== NL && buf[p] !== CR)) {
            this.fail('expected an outcome: a, f or i')
          }
        } else if (c === DASH && !(p + 1 < end && buf[p + 1] >= ZERO && buf[p + 1] <= NINE)) {
          // "-": none
          if (field < (isPub ? 3 : 1)) this.fail(`expected ${fieldName(kind, field)} (an integer)`)
          p++
        } else {
          let neg = false
          if (c === DASH) {
            if (!(isPub && field === 4)) this.fail(`expected ${fieldName(kind, field)} (an integer)`)
            neg = true
            p++
          }
          let v = 0
          const digits = p
          while (p < end && (c = buf[p]) >= ZERO && c <= NINE) {
            v = v * 10 + (c - ZERO)
            p++
          }
          if (p === digits) this.fail(`expected ${fieldName(kind, field)} (${isPub && field === 4 ? 'a number or -' : 'an integer'})`)
          if (p < end && buf[p] === DOT && isPub && field === 4) {
            p++
            let frac = 0
            let scale = 1
            while (p < end && (c = buf[p]) >= ZERO && c <= NINE) {
              frac = frac * 10 + (c - ZERO)
              scale *= 10
              p++
            }
            v += frac / scale
          }
          if (p < end && (c = buf[p]) !== SP && c !== TAB && c !== NL && c !== CR) {
            this.fail(`expected ${fieldName(kind, field)} (${isPub && field === 4 ? 'a number or -' : 'an integer'})`)
          }
          if (v > Number.MAX_SAFE_INTEGER) this.fail(`${fieldName(kind, field)} too large`)
          if (neg) v = -v
          if (isPub) {
            if (field === 0) writer = v
            else if (field === 1) value = v
            else if (field === 3) seq = v
            else at = v
          } else if (field === 0) value = v
          else seq = v
        }
        field++
      }
      p++ // the newline
      if (kind === 112) {
        if (field < 3) this.fail(`expected ${fieldName(kind, field)}`)
        history.publishCode(writer, value, code, seq, at)
      } else {
        if (field < 1) this.fail('expected value')
        history.readCode(value, seq)
      }
    }
  }
}

function fieldName(kind: number, field: number): string {
  return kind === 112 ? (['writer', 'value', 'outcome', 'seq', 'at'][field] ?? 'end of line') : (['value', 'seq'][field] ?? 'end of line')
}

/** Reads a durability history file in 1 MiB chunks. */
export function readDurabilityFile(path: string, history = new DurabilityHistory()): DurabilityHistory {
  const parser = new LineParser(path, history)
  const fd = openSync(path, 'r')
  try {
    let buf = Buffer.allocUnsafe(CHUNK)
    let len = 0
    for (;;) {
      if (len === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2) // a line longer than the buffer
        buf.copy(bigger, 0, 0, len)
        buf = bigger
      }
      const got = readSync(fd, buf, len, buf.length - len, null)
      len += got
      if (got === 0) {
        parser.parse(buf, 0, len)
        break
      }
      const last = buf.lastIndexOf(NL, len - 1)
      if (last < 0) continue // no complete line yet
      parser.parse(buf, 0, last + 1)
      buf.copy(buf, 0, last + 1, len)
      len -= last + 1
    }
  } finally {
    closeSync(fd)
  }
  return history
}

/** Parses a whole history held in memory (tests, small files). */
export function parseDurabilityHistory(text: string, file = '<input>', history = new DurabilityHistory()): DurabilityHistory {
  const buf = Buffer.from(text, 'utf8')
  new LineParser(file, history).parse(buf, 0, buf.length)
  return history
}

/**
 * Append-only writer of a durability history file (the publish probe's recorder). Lines are
 * buffered and written synchronously in 64 KiB blocks, and on flush() / close().
 */
export class DurabilityHistoryWriter extends LineFileWriter {
  constructor(path: string) {
    super(path, 'a')
    this.append(`${DURABILITY_HEADER}\n`)
  }

  /** `at`: publish time in ms (monotonic); `seq`: the ack's stream sequence. */
  publish(writer: number, value: number, outcome: PublishOutcome, seq?: number, at?: number): void {
    const o = outcome === 'ack' ? 'a' : outcome === 'fail' ? 'f' : outcome === 'info' ? 'i' : undefined
    if (o === undefined) throw new Error(`invalid publish outcome ${JSON.stringify(outcome)}`)
    checkValue(value)
    const s = seq === undefined || Number.isNaN(seq) ? '-' : String(seq)
    const t = at === undefined || Number.isNaN(at) ? '-' : String(Math.round(at * 1000) / 1000)
    this.append(`p ${writer} ${value} ${o} ${s} ${t}\n`)
  }

  read(value: number, seq?: number): void {
    checkValue(value)
    this.append(seq === undefined || Number.isNaN(seq) ? `r ${value}\n` : `r ${value} ${seq}\n`)
  }
}

/** Summary lines for humans, ending with nothing (the caller prints the verdict). */
export function formatDurability(r: DurabilityResult): string[] {
  const lines = [
    `attempted ${r.attempted}  acknowledged ${r.acknowledged}  failed ${r.failed}  indeterminate ${r.indeterminate}`,
    `read ${r.read} distinct (${r.reads} reads)  duplicated ${r.duplicated}  recovered ${r.recovered}  unknown ${r.unknown}`,
    `lost ${r.lost} (prefix ${r.lostPrefix}, middle ${r.lostMiddle}, postfix ${r.lostPostfix})  unexpected ${r.unexpected}  failed but read ${r.failedButRead}`,
  ]
  if (r.retries > 0) lines.push(`retries ${r.retries} (publish lines repeating a value)`)
  if (r.valid && r.noEvidence) lines.push('no publish was acknowledged, so none could be lost: no evidence, and that is not a pass')
  for (const w of r.writers) {
    if (w.lost > 0) {
      lines.push(
        `  writer ${w.writer}: ${w.lost} of ${w.acknowledged} acknowledged lost (prefix ${w.lostPrefix}, middle ${w.lostMiddle}, postfix ${w.lostPostfix}), ${w.read} read`,
      )
    }
  }
  if (r.firstLost.length > 0) {
    lines.push(`first lost (by publish time):`)
    for (const l of r.firstLost) {
      lines.push(`  writer ${l.writer} value ${l.value}  at ${Number.isNaN(l.at) ? '?' : l.at.toFixed(3)}ms  seq ${Number.isNaN(l.seq) ? '?' : l.seq}`)
    }
  }
  if (r.firstUnexpected.length > 0) {
    lines.push(`unexpected values:`)
    for (const u of r.firstUnexpected) lines.push(`  value ${u.value}  seq ${Number.isNaN(u.seq) ? '?' : u.seq}`)
  }
  return lines
}

/** `ok`, or the violations: `lost 3, unexpected 1`. */
export function durabilityVerdict(r: DurabilityResult): string {
  if (r.valid && r.noEvidence) return 'unknown'
  if (r.valid) return 'ok'
  const parts: string[] = []
  if (r.lost > 0) parts.push(`lost ${r.lost}`)
  if (r.unexpected > 0) parts.push(`unexpected ${r.unexpected}`)
  return parts.join(', ')
}
