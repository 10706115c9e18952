/**
 * store: http — a service's own compare-and-set API over HTTP (the gateway's, by default): a
 * request template per operation, JSON pointers (RFC 6901) to the value and the version in the
 * answers, and the statuses that mean "no such key" and "the compare failed".
 *
 *   http:
 *     read: { method: GET, path: "/v1/players/{key}/state" }
 *     cas:  { method: PUT, path: "/v1/players/{key}/state", body: '{"state":"{value}","expectedVersion":{version}}' }
 *     value: /state
 *     version: /version
 *     conflict: [409]
 *
 * Placeholders: {key} (the probe's key), {value} (the new value, an integer), {version} (the
 * expected version; 0 = the key is absent), URL-encoded in paths, as they are in bodies and headers.
 */
import jsonpointer from 'jsonpointer'
import { z } from 'zod'
import { StoreError, type CasStore, type Versioned } from './stores.ts'
import { meaningOf, statusError, StatusRulesShape, toValue, toVersion, type StatusRules } from './outcomes.ts'

const Pointer = z.string().regex(/^(\/.*)?$/, 'a JSON pointer: "" or /field/0/name')
const Method = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])
const request = (method: z.infer<typeof Method>) =>
  z.strictObject({
    method: Method.default(method),
    path: z.string().regex(/^\//, 'a path starting with / (the base URL comes from `url`)'),
    body: z.string().optional().describe('sent as is after the placeholders are filled'),
    headers: z.record(z.string(), z.string()).optional(),
  })
type Request = z.infer<ReturnType<typeof request>>

export const HttpStoreConfig = z
  .strictObject({
    url: z.url().optional().describe('base URL (default: the environment’s gateway)'),
    headers: z.record(z.string(), z.string()).optional().describe('sent with every request (content-type: application/json when there is a body)'),
    read: request('GET'),
    cas: request('PUT'),
    write: request('PUT').optional().describe('a blind write; without it the probe makes no blind writes'),
    create: request('PUT').optional().describe('used instead of cas when the key is absent (expected version 0)'),
    value: Pointer.default('/value').describe('JSON pointer to the value in the read answer'),
    version: Pointer.default('/version').describe('JSON pointer to the version in the read answer'),
    newVersion: Pointer.optional().describe('JSON pointer to the version just written in a cas / write answer (default: `version`)'),
    ...StatusRulesShape,
  })
  .superRefine((c, ctx) => {
    const need = (op: 'read' | 'cas' | 'write' | 'create', placeholders: string[]) => {
      const r = c[op]
      if (!r) return
      const text = `${r.path} ${r.body ?? ''} ${Object.values({ ...c.headers, ...r.headers }).join(' ')}`
      for (const p of placeholders)
        if (!text.includes(`{${p}}`))
          ctx.addIssue({ code: 'custom', path: [op], message: `the ${op} request must carry {${p}} (in its path, body or headers)` })
    }
    need('read', ['key'])
    need('cas', ['key', 'value', 'version'])
    need('write', ['key', 'value'])
    need('create', ['key', 'value'])
  })
export type HttpStoreConfig = z.infer<typeof HttpStoreConfig>

/** RFC 6901: the value at `pointer` in `doc`, undefined when the path does not exist (the jsonpointer library). */
export function jsonPointer(doc: unknown, pointer: string): unknown {
  if (doc === null || typeof doc !== 'object') return pointer === '' ? doc : undefined
  return jsonpointer.get(doc as object, pointer)
}

function fill(template: string, vars: Record<string, string>, encode: (s: string) => string = (s) => s): string {
  return template.replace(/\{(key|value|version)\}/g, (_, name: string) => encode(vars[name] ?? ''))
}

/** A fetch failure: refused before anything was sent is definite; anything later is unknown. */
export function httpStoreError(err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err
  const e = err as Error & { cause?: { code?: string } }
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return new StoreError(`${what}: timed out`, false, 'timeout')
  const code = e?.cause?.code
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'UND_ERR_CONNECT_TIMEOUT')
    return new StoreError(`${what}: ${code}`, true, 'connection-refused')
  return new StoreError(`${what}: ${e?.message ?? String(err)}${code ? ` (${code})` : ''}`, false, code ? code.toLowerCase() : 'http-error')
}

export function openHttpStore(baseUrl: string, config: HttpStoreConfig, opts: { timeoutMs: number; prefix: string }): CasStore {
  const base = baseUrl.replace(/\/+$/, '')
  const rules: StatusRules = config
  const id = (key: string) => `${opts.prefix}-${key}`
  const newVersionAt = config.newVersion ?? config.version

  const send = async (op: string, r: Request, vars: Record<string, string>): Promise<{ status: number; body: unknown; text: string }> => {
    const url = base + fill(r.path, vars, encodeURIComponent)
    const what = `${r.method} ${url}`
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries({ ...config.headers, ...r.headers })) headers[k] = fill(v, vars)
    const body = r.body === undefined ? undefined : fill(r.body, vars)
    if (body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json'
    try {
      const res = await fetch(url, { method: r.method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(opts.timeoutMs) })
      const text = await res.text()
      let parsed: unknown
      try {
        parsed = text ? JSON.parse(text) : undefined
      } catch {
        parsed = undefined // not JSON: a success then has no version to read, an error keeps its status
      }
      return { status: res.status, body: parsed, text }
    } catch (err) {
      throw httpStoreError(err, `${op}: ${what}`)
    }
  }
  const errorText = (a: { body: unknown; text: string }) => {
    const message = jsonPointer(a.body, '/error/message') ?? jsonPointer(a.body, '/message')
    return typeof message === 'string' ? message : a.text.slice(0, 200)
  }
  const ok = (status: number) => status >= 200 && status < 300
  const newVersion = (what: string, a: { body: unknown }) => toVersion(jsonPointer(a.body, newVersionAt), `${what}: ${newVersionAt || '(the body)'}`)

  const read = async (key: string): Promise<Versioned> => {
    const a = await send('read', config.read, { key: id(key) })
    if (!ok(a.status)) {
      if (meaningOf(a.status, rules, 'read') === 'absent') return { value: null, version: 0 }
      throw statusError('read', a.status, errorText(a), rules, 'read', 'http')
    }
    const version = toVersion(jsonPointer(a.body, config.version), `read: ${config.version || '(the body)'}`)
    return version === 0 ? { value: null, version: 0 } : { value: toValue(jsonPointer(a.body, config.value)), version }
  }

  const store: CasStore = {
    kind: 'http',
    describe: { store: 'http', url: base, read: `${config.read.method} ${config.read.path}`, cas: `${config.cas.method} ${config.cas.path}` },
    read,
    async cas(key, expected, to) {
      const creating = expected.version === 0 && config.create
      const a = await send(creating ? 'create' : 'cas', creating ? config.create! : config.cas, {
        key: id(key),
        value: String(to),
        version: String(expected.version),
      })
      if (!ok(a.status)) {
        if (meaningOf(a.status, rules, 'cas') === 'conflict') return { ok: false }
        throw statusError('cas', a.status, errorText(a), rules, 'cas', 'http')
      }
      return { ok: true, version: newVersion('cas', a) }
    },
    async ready() {
      try {
        await read('ready')
        return undefined
      } catch (err) {
        return `${base}: ${(err as Error).message}`
      }
    },
    async close() {},
  }
  if (config.write) {
    const w = config.write
    store.write = async (key, value) => {
      const a = await send('write', w, { key: id(key), value: String(value) })
      if (!ok(a.status)) throw statusError('write', a.status, errorText(a), rules, 'write', 'http')
      return { version: newVersion('write', a) }
    }
  }
  return store
}
