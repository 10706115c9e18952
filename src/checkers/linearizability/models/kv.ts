/**
 * Key-value store on string values, partitioned by key: `get` (output = the whole value, `""` when
 * unset), `put(v)` sets it, `append(v)` appends to it. Each key is an independent register whose
 * state is its string (Porcupine's kv model).
 *
 * `info` put / append may have taken effect, or not; `fail` put / append did not happen and
 * `info` / `fail` gets constrain nothing: those are dropped before the search.
 */
import { ILLEGAL, type Illegal, type Model } from '../model.ts'
import { formatValue, keyPrefix, partitionByKey, validateFunction, type KeyedInput, type KeyedOp } from './values.ts'

function step(state: string, op: KeyedOp): string | Illegal {
  const input = op.input
  switch (input.f) {
    case 'get':
      if (op.status !== 'ok') return state
      return (op.output ?? '') === state ? state : ILLEGAL
    case 'put':
      if (op.status === 'fail') return state
      return String(input.value ?? '')
    case 'append':
      if (op.status === 'fail') return state
      return state + String(input.value ?? '')
    default:
      throw new Error(`kv: unknown operation ${JSON.stringify(input.f)}${op.line ? ` (line ${op.line})` : ''}`)
  }
}

function relevant(op: KeyedOp): boolean {
  return op.input.f === 'get' ? op.status === 'ok' : op.status !== 'fail'
}

function describeOperation(op: KeyedOp): string {
  const input: KeyedInput = op.input
  if (input.f === 'get') {
    return `get(${JSON.stringify(input.key ?? '')}) → ${op.status === 'ok' ? formatValue(op.output ?? '') : `? ${op.status}`}`
  }
  return `${input.f}(${keyPrefix(input)}${formatValue(input.value)}) ${op.status}`
}

export const kv: Model<string, KeyedInput, unknown> = {
  name: 'kv',
  init: () => '',
  step,
  equal: (a, b) => a === b,
  partition: partitionByKey,
  validate: validateFunction('kv', ['get', 'put', 'append']),
  relevant,
  readOnly: (op) => op.input.f === 'get' && op.status === 'ok',
  describeOperation,
  describeState: formatValue,
}
