/** Register values and the input shape shared by the built-in models and the history parsers. */
import type { Operation } from '../model.ts'

/** A register or kv value: a number, a string, or nil (`null`, the unset register). */
export type Value = number | string | null

/**
 * The input of a parsed operation: the function (`read`, `write`, `cas`, `get`, `put`,
 * `append`), the key when the history has keys, and the invocation's value (`[from, to]` for cas).
 */
export interface KeyedInput {
  f: string
  key?: string
  value?: unknown
}

/** The output of a completed read / get: the value read. Other ops carry no output. */
export type KeyedOp = Operation<KeyedInput, unknown>

const TRUNCATE = 60

/** `nil`, `4`, `"abc"` (long strings cut in the middle, with their length). */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return 'nil'
  if (typeof v === 'string') {
    if (v.length <= TRUNCATE) return JSON.stringify(v)
    const half = TRUNCATE / 2
    return `${JSON.stringify(v.slice(0, half)).slice(0, -1)}…${JSON.stringify(v.slice(-half)).slice(1)} (${v.length} chars)`
  }
  if (Array.isArray(v)) return `[${v.map(formatValue).join(' ')}]`
  return String(v)
}

/** 32-bit hash of a register value, consistent with `===`. */
export function hashValue(v: Value): number {
  if (v === null) return 0x5bd1e995
  if (typeof v === 'number') {
    if ((v | 0) === v) return Math.imul(v, 0x27d4eb2d)
    let h = 0x811c9dc5
    const s = String(v)
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
    return h
  }
  let h = 0x01000193
  for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v.charCodeAt(i), 0x01000193)
  return h
}

/**
 * Groups ops by `input.key` (ops without a key form one group), in order of first appearance.
 */
export function partitionByKey<O extends { input: KeyedInput }>(ops: readonly O[]): O[][] {
  const groups = new Map<string | undefined, O[]>()
  for (const op of ops) {
    const key = op.input.key
    let group = groups.get(key)
    if (!group) groups.set(key, (group = []))
    group.push(op)
  }
  return [...groups.values()]
}

/** `k1, ` when the op has a key, else empty. */
export function keyPrefix(input: KeyedInput): string {
  return input.key === undefined ? '' : `${JSON.stringify(input.key)}, `
}

const isValue = (v: unknown): v is Value => v === null || v === undefined || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))

function notAValue(model: string, what: string, v: unknown): string {
  const shown = JSON.stringify(v) ?? String(v)
  return `${model} values are numbers, strings or null: the ${what} is ${shown.length > 60 ? shown.slice(0, 60) + '…' : shown} (compare a field of it, or its JSON text)`
}

/**
 * A `validate` for models over KeyedInput: the function must be one of `fs`, and every value
 * a register holds a plain value (an object would compare by identity: a false violation).
 */
export function validateFunction(model: string, fs: readonly string[]) {
  return (op: KeyedOp): string | undefined => {
    const f = op.input?.f
    if (!fs.includes(f)) return `operation ${JSON.stringify(f)} is not one of model ${model} (${fs.join(', ')})`
    const v = op.input.value
    if (f === 'cas') {
      if (!(Array.isArray(v) && v.length === 2)) return `cas needs a [from, to] value`
      if (!isValue(v[0])) return notAValue(model, 'cas "from"', v[0])
      if (!isValue(v[1])) return notAValue(model, 'cas "to"', v[1])
    } else if (f !== 'read' && f !== 'get' && !isValue(v)) return notAValue(model, `${f} value`, v)
    if (op.status === 'ok' && (f === 'read' || f === 'get') && !isValue(op.output)) return notAValue(model, 'value read', op.output)
    return undefined
  }
}
