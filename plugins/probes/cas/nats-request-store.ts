/**
 * store: nats-request — a service's own compare-and-set API over NATS request-reply, with the
 * service's own protobuf schemas loaded at run time from a descriptor set. The mapping says which
 * subject and messages each operation uses and which field is the key, the value, the expected
 * version and the version answered; a status (the NATS services framework's
 * `Nats-Service-Error-Code` header by default, or a field of the response) says which answer
 * is a missing key, a failed compare, a refusal.
 *
 *   natsRequest:
 *     descriptors: gen/gameday.binpb          # buf build -o gen/gameday.binpb
 *     read:  { subject: player-state.get, request: gameday.v1.GetPlayerStateRequest,
 *              response: gameday.v1.GetPlayerStateResponse, key: player_id, value: state, version: version }
 *     cas:   { subject: player-state.update, request: gameday.v1.UpdatePlayerStateRequest,
 *              response: gameday.v1.UpdatePlayerStateResponse, key: player_id, value: state,
 *              expectedVersion: expected_version, version: version }
 *     conflict: [409]
 *
 * An expected version of 0 means "only if absent" (the register is nil); a service that creates
 * with another call maps it as `create:`.
 */
import { z } from 'zod'
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node'
import type { DescMessage } from '@bufbuild/protobuf'
import { natsStoreError, StoreError, type CasStore, type Versioned } from './stores.ts'
import { meaningOf, statusError, StatusRulesShape, toValue, toVersion, type Status, type StatusRules } from './outcomes.ts'
import { buildMessage, DecodedMessage, findMessage, loadDescriptorSet, resolveField, SchemaError, type FieldPath, type FieldRole } from './protobuf.ts'

const FieldName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'a field name, or a dotted path of field names (meta.version)')
const Call = {
  subject: z.string().min(1).describe('the subject the service answers on'),
  request: z.string().min(1).describe('full name of the request message (package.Message)'),
  response: z.string().min(1).describe('full name of the response message'),
  key: FieldName.describe('request field that names the key (a string)'),
  headers: z.record(z.string(), z.string()).optional().describe('NATS headers sent with every request of this call'),
}
const ReadCall = z.strictObject({
  ...Call,
  value: FieldName.describe('response field holding the value'),
  version: FieldName.describe('response field holding the stored version (0 = absent)'),
})
const WriteCall = z.strictObject({
  ...Call,
  value: FieldName.describe('request field that carries the new value'),
  version: FieldName.describe('response field holding the version just written'),
})
const CasCall = WriteCall.extend({ expectedVersion: FieldName.describe('request field that carries the expected version') })

export const NatsRequestConfig = z.strictObject({
  descriptors: z.string().min(1).describe('descriptor set of the service’s .proto files: `buf build -o <file>` (relative to the working directory)'),
  status: z
    .union([z.strictObject({ header: z.string().min(1) }), z.strictObject({ field: FieldName })])
    .default({ header: 'Nats-Service-Error-Code' })
    .describe('where an answer says it failed: a reply header (no header = success) or a response field (unset / 0 / "" = success)'),
  ...StatusRulesShape,
  read: ReadCall,
  cas: CasCall,
  write: WriteCall.optional().describe('a blind write (no expected version); without it the probe makes no blind writes'),
  create: WriteCall.optional().describe('used instead of cas when the key is absent (expected version 0)'),
})
export type NatsRequestConfig = z.infer<typeof NatsRequestConfig>

interface CompiledCall {
  subject: string
  request: DescMessage
  response: DescMessage
  key: FieldPath
  value: FieldPath
  version: FieldPath
  expectedVersion?: FieldPath
  headers?: Record<string, string>
  status?: FieldPath
}

export interface CompiledNatsRequest {
  config: NatsRequestConfig
  read: CompiledCall
  cas: CompiledCall
  write?: CompiledCall
  create?: CompiledCall
}

/** A mapping problem, with where it is in the mapping (for validate's file:line:col). */
export class MappingError extends SchemaError {
  constructor(
    message: string,
    readonly at: (string | number)[],
  ) {
    super(message)
  }
}

/** Resolves every message and field of the mapping against the descriptor set; throws the first problem. */
export function compileNatsRequest(config: NatsRequestConfig): CompiledNatsRequest {
  const problems: MappingError[] = []
  const compiled = compile(config, problems)
  if (problems.length) throw problems[0]
  return compiled!
}

/** Every problem of the mapping, each with where it is written (validate reports them all at once). */
export function mappingProblems(config: NatsRequestConfig): MappingError[] {
  const problems: MappingError[] = []
  compile(config, problems)
  return problems
}

function compile(config: NatsRequestConfig, problems: MappingError[]): CompiledNatsRequest | undefined {
  let registry: ReturnType<typeof loadDescriptorSet>
  try {
    registry = loadDescriptorSet(config.descriptors)
  } catch (err) {
    problems.push(new MappingError((err as Error).message, ['descriptors']))
    return undefined
  }
  /** runs a lookup; a problem is recorded where it is written, and the lookup's result is missing */
  const guard = <T>(at: (string | number)[], f: () => T): T => {
    try {
      return f()
    } catch (err) {
      if (!(err instanceof SchemaError)) throw err
      problems.push(new MappingError(err.message, at))
      return undefined as T
    }
  }
  const call = (name: 'read' | 'cas' | 'write' | 'create', c: z.infer<typeof CasCall> | z.infer<typeof ReadCall>): CompiledCall => {
    const request = guard([name, 'request'], () => findMessage(registry, c.request))
    const response = guard([name, 'response'], () => findMessage(registry, c.response))
    const field = (on: DescMessage | undefined, which: string, path: string, role: FieldRole) =>
      on ? guard([name, which], () => resolveField(on, path, role)) : undefined
    const status = config.status
    return {
      subject: c.subject,
      request,
      response,
      key: field(request, 'key', c.key, 'key')!,
      value: field(name === 'read' ? response : request, 'value', c.value, 'value')!,
      version: field(response, 'version', c.version, 'version')!,
      ...('expectedVersion' in c ? { expectedVersion: field(request, 'expectedVersion', c.expectedVersion, 'version') } : {}),
      ...(c.headers ? { headers: c.headers } : {}),
      ...('field' in status && response ? { status: guard(['status', 'field'], () => resolveField(response, status.field, 'status')) } : {}),
    }
  }
  return {
    config,
    read: call('read', config.read),
    cas: call('cas', config.cas),
    ...(config.write ? { write: call('write', config.write) } : {}),
    ...(config.create ? { create: call('create', config.create) } : {}),
  }
}

interface Answer {
  /** undefined: success */
  status?: Status
  message: string
  data: Uint8Array
}

export function openNatsRequestStore(
  nc: NatsConnection,
  mapping: CompiledNatsRequest,
  opts: { timeoutMs: number; prefix: string; kind?: string; describe?: Record<string, string | number | boolean> },
): CasStore {
  const rules: StatusRules = mapping.config
  const id = (key: string) => `${opts.prefix}-${key}`.replace(/[^A-Za-z0-9_-]/g, '-')
  const statusHeader = 'header' in mapping.config.status ? mapping.config.status.header : undefined

  const call = async (c: CompiledCall, key: string, fields: [FieldPath, string | number][]): Promise<Answer & { decoded?: DecodedMessage }> => {
    const payload = buildMessage(c.request, [[c.key, id(key)], ...fields])
    let h: MsgHdrs | undefined
    if (c.headers) {
      h = natsHeaders()
      for (const [k, v] of Object.entries(c.headers)) h.set(k, v)
    }
    let reply
    try {
      reply = await nc.request(c.subject, payload, { timeout: opts.timeoutMs, ...(h ? { headers: h } : {}) })
    } catch (err) {
      throw natsStoreError(err)
    }
    const message = reply.headers?.get('Nats-Service-Error') ?? ''
    if (statusHeader) {
      const status = reply.headers?.get(statusHeader)
      if (status) return { status: Number.isInteger(Number(status)) ? Number(status) : status, message, data: reply.data }
    }
    let decoded: DecodedMessage
    try {
      decoded = DecodedMessage.decode(c.response, reply.data)
    } catch (err) {
      throw new StoreError(`${c.subject}: the reply is not a ${c.response.typeName}: ${(err as Error).message}`, false, 'bad-reply')
    }
    // a status field at its zero value (0, "", false, an enum's first value) or unset means success
    if (c.status && decoded.isSet(c.status) && !decoded.isZero(c.status)) {
      const status = decoded.get(c.status)!
      return { status: typeof status === 'bigint' ? Number(status) : typeof status === 'boolean' ? String(status) : status, message, data: reply.data }
    }
    return { message, data: reply.data, decoded }
  }

  const newVersion = (c: CompiledCall, a: { decoded?: DecodedMessage }) => toVersion(a.decoded!.get(c.version), `${c.subject} (${c.version.text})`)

  const read = async (key: string): Promise<Versioned> => {
    const c = mapping.read
    const a = await call(c, key, [])
    if (a.status !== undefined) {
      if (meaningOf(a.status, rules, 'read') === 'absent') return { value: null, version: 0 }
      throw statusError(c.subject, a.status, a.message, rules, 'read', 'status')
    }
    const version = toVersion(a.decoded!.get(c.version), `${c.subject} (${c.version.text})`)
    return version === 0 ? { value: null, version: 0 } : { value: toValue(a.decoded!.get(c.value)), version }
  }

  const store: CasStore = {
    kind: opts.kind ?? 'nats-request',
    describe: opts.describe ?? {
      store: 'nats-request',
      read: mapping.read.subject,
      cas: mapping.cas.subject,
      descriptors: mapping.config.descriptors,
    },
    read,
    async cas(key, expected, to) {
      const creating = expected.version === 0 && mapping.create
      const c = creating ? mapping.create! : mapping.cas
      const a = await call(
        c,
        key,
        creating
          ? [[c.value, to]]
          : [
              [c.value, to],
              [c.expectedVersion!, expected.version],
            ],
      )
      if (a.status !== undefined) {
        if (meaningOf(a.status, rules, 'cas') === 'conflict') return { ok: false }
        throw statusError(c.subject, a.status, a.message, rules, 'cas', 'status')
      }
      return { ok: true, version: newVersion(c, a) }
    },
    async ready() {
      try {
        await read('ready')
        return undefined
      } catch (err) {
        return `${mapping.read.subject}: ${(err as Error).message}`
      }
    },
    async close() {},
  }
  if (mapping.write) {
    const c = mapping.write
    store.write = async (key, value) => {
      const a = await call(c, key, [[c.value, value]])
      if (a.status !== undefined) throw statusError(c.subject, a.status, a.message, rules, 'write', 'status')
      return { version: newVersion(c, a) }
    }
  }
  return store
}
