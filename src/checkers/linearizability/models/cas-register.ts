/**
 * Compare-and-set register: `read` (output = value read, `null` = nil, the initial state),
 * `write(v)`, `cas([from, to])`.
 *
 * - `ok` cas: the register was `from` and became `to`.
 * - `fail` cas: the compare failed — a completed op that did not change the register, which was
 *   not `from` at that point (Porcupine's etcd model; stricter than dropping it).
 * - `info` write / cas: may have taken effect, or not (a cas that took effect must have met `from`).
 * - `fail` write and `info` / `fail` read constrain nothing and are dropped before the search.
 *
 * `casRegister` checks one register (keys ignored); `casRegisterPerKey` is a map of independent
 * registers, one per `input.key`, checked partition by partition.
 */
import { ILLEGAL, type Illegal, type Model } from '../model.ts'
import { formatValue, hashValue, keyPrefix, partitionByKey, validateFunction, type KeyedInput, type KeyedOp, type Value } from './values.ts'

function step(state: Value, op: KeyedOp): Value | Illegal {
  const input = op.input
  switch (input.f) {
    case 'read':
      if (op.status !== 'ok') return state
      return (op.output ?? null) === state ? state : ILLEGAL
    case 'write':
      if (op.status === 'fail') return state
      return input.value as Value
    case 'cas': {
      const pair = input.value as [Value, Value]
      const from = pair[0]
      if (op.status === 'ok') return state === from ? pair[1] : ILLEGAL
      if (op.status === 'fail') return state === from ? ILLEGAL : state
      return state === from ? pair[1] : state
    }
    default:
      throw new Error(`cas-register: unknown operation ${JSON.stringify(input.f)}${op.line ? ` (line ${op.line})` : ''}`)
  }
}

function relevant(op: KeyedOp): boolean {
  if (op.input.f === 'read') return op.status === 'ok'
  if (op.input.f === 'write') return op.status !== 'fail'
  return true
}

function readOnly(op: KeyedOp): boolean {
  return (op.input.f === 'read' && op.status === 'ok') || (op.input.f === 'cas' && op.status === 'fail')
}

function describeOperation(op: KeyedOp): string {
  const input: KeyedInput = op.input
  const k = keyPrefix(input)
  switch (input.f) {
    case 'read':
      return `read${input.key === undefined ? '' : `(${JSON.stringify(input.key)})`} → ${op.status === 'ok' ? formatValue(op.output) : `? ${op.status}`}`
    case 'write':
      return `write(${k}${formatValue(input.value)}) ${op.status}`
    case 'cas': {
      const [from, to] = input.value as [Value, Value]
      return `cas(${k}${formatValue(from)}→${formatValue(to)}) ${op.status}`
    }
    default:
      return `${input.f}(${k}${formatValue(input.value)}) ${op.status}`
  }
}

export const casRegister: Model<Value, KeyedInput, unknown> = {
  name: 'cas-register',
  init: () => null,
  step,
  equal: (a, b) => a === b,
  hash: hashValue,
  validate: validateFunction('cas-register', ['read', 'write', 'cas']),
  relevant,
  readOnly,
  describeOperation,
  describeState: formatValue,
}

export const casRegisterPerKey: Model<Value, KeyedInput, unknown> = {
  ...casRegister,
  name: 'cas-register (per key)',
  partition: partitionByKey,
}
