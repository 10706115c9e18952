/**
 * A tiny reader for the EDN subset Jepsen histories use: nil, true / false, integers and decimals,
 * "strings", :keywords, [vectors], (lists) and {maps}. Keywords read as `Keyword` instances, map
 * keys that are keywords as their plain names.
 *
 * `parseEdnHistory` reads one map per line, as in Jepsen's kv histories:
 *     {:process 9, :type :invoke, :f :append, :key "0", :value "x 9 0 y"}
 * Lines whose :process is not a number (e.g. :nemesis) are skipped. Time = line number.
 */
import { HistoryBuilder, type EventType } from './builder.ts'
import type { KeyedOp } from '../linearizability/models/values.ts'

export class Keyword {
  constructor(readonly name: string) {}
  toString(): string {
    return `:${this.name}`
  }
}

class EdnReader {
  pos = 0
  constructor(readonly text: string) {}

  fail(what: string): never {
    throw new Error(`${what} at column ${this.pos + 1}`)
  }

  skip(): void {
    const t = this.text
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos)
      if (c === 32 || c === 44 || c === 9 || c === 10 || c === 13)
        this.pos++ // space , tab \n \r
      else if (c === 59) {
        // ; comment to end of line
        while (this.pos < t.length && t.charCodeAt(this.pos) !== 10) this.pos++
      } else break
    }
  }

  read(): unknown {
    this.skip()
    const t = this.text
    if (this.pos >= t.length) this.fail('unexpected end of input')
    const c = t[this.pos]
    if (c === '{') return this.readMap()
    if (c === '[' || c === '(') return this.readSeq(c === '[' ? ']' : ')')
    if (c === '"') return this.readString()
    if (c === ':') {
      this.pos++
      return new Keyword(this.readToken())
    }
    const token = this.readToken()
    if (token === 'nil') return null
    if (token === 'true') return true
    if (token === 'false') return false
    if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?N?M?$/.test(token)) return Number(token.replace(/[NM]$/, ''))
    this.fail(`unexpected token ${JSON.stringify(token)}`)
  }

  readToken(): string {
    const t = this.text
    const start = this.pos
    while (this.pos < t.length && !/[\s,{}[\]()"]/.test(t[this.pos])) this.pos++
    if (this.pos === start) this.fail('expected a token')
    return t.slice(start, this.pos)
  }

  readString(): string {
    const t = this.text
    this.pos++ // opening quote
    let out = ''
    let start = this.pos
    while (this.pos < t.length) {
      const c = t[this.pos]
      if (c === '"') {
        out += t.slice(start, this.pos)
        this.pos++
        return out
      }
      if (c === '\\') {
        out += t.slice(start, this.pos)
        const e = t[this.pos + 1]
        const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' }
        if (!(e in map)) this.fail(`unknown escape \\${e}`)
        out += map[e]
        this.pos += 2
        start = this.pos
        continue
      }
      this.pos++
    }
    this.fail('unterminated string')
  }

  readSeq(close: string): unknown[] {
    this.pos++
    const out: unknown[] = []
    for (;;) {
      this.skip()
      if (this.pos >= this.text.length) this.fail(`missing ${close}`)
      if (this.text[this.pos] === close) {
        this.pos++
        return out
      }
      out.push(this.read())
    }
  }

  readMap(): Record<string, unknown> {
    this.pos++
    const out: Record<string, unknown> = {}
    for (;;) {
      this.skip()
      if (this.pos >= this.text.length) this.fail('missing }')
      if (this.text[this.pos] === '}') {
        this.pos++
        return out
      }
      const key = this.read()
      const value = this.read()
      out[key instanceof Keyword ? key.name : String(key)] = value
    }
  }
}

/** Reads one EDN value; throws on trailing content. */
export function readEdn(text: string): unknown {
  const r = new EdnReader(text)
  const v = r.read()
  r.skip()
  if (r.pos < text.length) r.fail('trailing content')
  return v
}

const TYPES = new Set(['invoke', 'ok', 'fail', 'info'])

export function parseEdnHistory(text: string, file: string): KeyedOp[] {
  const b = new HistoryBuilder(file)
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim()
    if (line === '' || line.startsWith(';')) continue
    let m: unknown
    try {
      m = readEdn(line)
    } catch (err) {
      throw b.error(i + 1, (err as Error).message)
    }
    if (m === null || typeof m !== 'object' || Array.isArray(m) || m instanceof Keyword) throw b.error(i + 1, 'expected a {map}')
    const map = m as Record<string, unknown>
    if (typeof map.process !== 'number') continue // nemesis and other non-client events
    const type = map.type instanceof Keyword ? map.type.name : undefined
    if (!type || !TYPES.has(type)) throw b.error(i + 1, `:type must be :invoke, :ok, :fail or :info`)
    const f = map.f instanceof Keyword ? map.f.name : typeof map.f === 'string' ? map.f : undefined
    if (!f) throw b.error(i + 1, 'missing :f')
    const timedOut = type === 'fail' && (map.value instanceof Keyword || isTimeout(map.error))
    b.add({
      process: map.process,
      type: type as EventType,
      f,
      key: map.key === undefined || map.key === null ? undefined : String(map.key),
      value: map.value instanceof Keyword ? null : map.value,
      time: typeof map.time === 'number' ? map.time : i + 1,
      line: i + 1,
      timedOut,
    })
  }
  return b.finish()
}

function isTimeout(error: unknown): boolean {
  return error instanceof Keyword ? /time/.test(error.name) : Array.isArray(error) && error.some(isTimeout)
}
