/**
 * store: http against an in-test HTTP service on loopback with conventions of its own (ETag-like
 * versions in a header, the value nested in the answer, 412 on a failed compare): templates are
 * filled, pointers read, and every kind of answer lands in the right class — absent, conflict,
 * refused (certainly nothing done), unknown (maybe done).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HttpStoreConfig, jsonPointer, openHttpStore } from './http-store.ts'
import { casCorrectness } from '../cas-correctness.ts'
import { freePort } from '../../../src/util/ports.ts'

interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

let server: Server
let base: string
const seen: Seen[] = []
/** what the next answer is, by the test */
let answer: (req: Seen) => { status: number; body?: unknown; delayMs?: number } = () => ({ status: 200 })

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      const s = { method: req.method!, url: req.url!, headers: req.headers, body }
      seen.push(s)
      const a = answer(s)
      setTimeout(() => {
        res.writeHead(a.status, { 'content-type': 'application/json' })
        res.end(a.body === undefined ? '' : JSON.stringify(a.body))
      }, a.delayMs ?? 0)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

const config = HttpStoreConfig.parse({
  headers: { authorization: 'Bearer t0ken' },
  read: { path: '/accounts/{key}' },
  cas: { method: 'POST', path: '/accounts/{key}/balance', body: '{"amount":{value}}', headers: { 'if-match': '{version}' } },
  value: '/data/amount',
  version: '/data/rev',
  newVersion: '/rev',
  absent: [404, 410],
  conflict: [412],
})

describe('http: a service’s own API through request templates and JSON pointers', () => {
  it('fills the templates (key URL-encoded in paths, value and version in bodies and headers) and reads the pointers', async () => {
    const store = openHttpStore(base, config, { timeoutMs: 1_000, prefix: 'cas-r1' })
    seen.length = 0
    answer = () => ({ status: 200, body: { data: { amount: '17', rev: 4 } } })
    expect(await store.read('k0')).toEqual({ value: 17, version: 4 })
    answer = () => ({ status: 201, body: { rev: 5 } })
    expect(await store.cas('k0', { value: 17, version: 4 }, 18)).toEqual({ ok: true, version: 5 })
    expect(seen.map((s) => [s.method, s.url, s.body])).toEqual([
      ['GET', '/api/accounts/cas-r1-k0', ''],
      ['POST', '/api/accounts/cas-r1-k0/balance', '{"amount":18}'],
    ])
    expect(seen[1]!.headers).toMatchObject({ 'if-match': '4', authorization: 'Bearer t0ken', 'content-type': 'application/json' })
  })

  it('absent and conflict statuses are answers; a read of version 0 is absent', async () => {
    const store = openHttpStore(base, config, { timeoutMs: 1_000, prefix: 'cas-r2' })
    answer = () => ({ status: 410, body: { error: 'gone' } })
    expect(await store.read('k0')).toEqual({ value: null, version: 0 })
    answer = () => ({ status: 200, body: { data: { amount: null, rev: 0 } } })
    expect(await store.read('k0')).toEqual({ value: null, version: 0 })
    answer = () => ({ status: 412 })
    expect(await store.cas('k0', { value: 1, version: 3 }, 2)).toEqual({ ok: false })
  })

  it('4xx refused (definite), 5xx and a success without a version unknown, a timeout unknown, nobody listening definite', async () => {
    const store = openHttpStore(base, config, { timeoutMs: 300, prefix: 'cas-r3' })
    answer = () => ({ status: 400, body: { error: { message: 'amount must be positive' } } })
    await expect(store.cas('k0', { value: 1, version: 3 }, 2)).rejects.toMatchObject({ definite: true, errorClass: 'http-400' })
    answer = () => ({ status: 500 })
    await expect(store.cas('k0', { value: 1, version: 3 }, 2)).rejects.toMatchObject({ definite: false, errorClass: 'http-500' })
    answer = () => ({ status: 200, body: { nothing: true } })
    await expect(store.cas('k0', { value: 1, version: 3 }, 2)).rejects.toMatchObject({ definite: false, errorClass: 'bad-reply' })
    answer = () => ({ status: 200, body: { rev: 1 }, delayMs: 600 })
    await expect(store.cas('k0', { value: 1, version: 3 }, 2)).rejects.toMatchObject({ definite: false, errorClass: 'timeout' })
    const nobody = openHttpStore(`http://127.0.0.1:${await freePort()}`, config, { timeoutMs: 300, prefix: 'cas-r4' })
    await expect(nobody.cas('k0', { value: 1, version: 3 }, 2)).rejects.toMatchObject({ definite: true, errorClass: 'connection-refused' })
    expect(await nobody.ready()).toMatch(/ECONNREFUSED/)
  })

  it('`refused:` replaces the 4xx default: a listed 503 is definite, an unlisted 400 unknown', async () => {
    const store = openHttpStore(base, { ...config, refused: [503] }, { timeoutMs: 500, prefix: 'cas-r5' })
    answer = () => ({ status: 503 })
    await expect(store.read('k0')).rejects.toMatchObject({ definite: true })
    answer = () => ({ status: 400 })
    await expect(store.read('k0')).rejects.toMatchObject({ definite: false })
  })
})

describe('http: the configuration is checked before anything runs', () => {
  const issues = (http: unknown) => {
    const r = casCorrectness.params.safeParse({ store: 'http', http })
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
  }
  it.each([
    [
      { read: { path: '/p/{key}' }, cas: { path: '/p/{key}', body: '{"v":{value}}' } },
      'http.cas: the cas request must carry {version} (in its path, body or headers)',
    ],
    [
      { read: { path: '/p' }, cas: { path: '/p/{key}', body: '{"v":{value},"e":{version}}' } },
      'http.read: the read request must carry {key} (in its path, body or headers)',
    ],
    [
      { read: { path: 'p/{key}' }, cas: { path: '/p/{key}', body: '{"v":{value},"e":{version}}' } },
      'http.read.path: a path starting with / (the base URL comes from `url`)',
    ],
    [
      { read: { path: '/p/{key}' }, cas: { path: '/p/{key}', body: '{"v":{value},"e":{version}}' }, value: 'state' },
      'http.value: a JSON pointer: "" or /field/0/name',
    ],
  ])('%#: %s', (http, message) => {
    expect(issues(http)).toEqual([message])
  })

  it('store: http needs its requests, and `http:` belongs to store: http only', () => {
    expect(issues(undefined)).toEqual(['http: store: http needs `http:` (read and cas requests, value / version pointers)'])
    const r = casCorrectness.params.safeParse({ store: 'nats-kv', http: { read: { path: '/p/{key}' }, cas: { path: '/{key}/{value}/{version}' } } })
    expect(r.success).toBe(false)
  })
})

describe('jsonPointer (RFC 6901)', () => {
  const doc = { foo: ['bar', 'baz'], '': 0, 'a/b': 1, 'm~n': 8, ' ': 7 }
  it.each([
    ['', doc],
    ['/foo', ['bar', 'baz']],
    ['/foo/0', 'bar'],
    ['/', 0],
    ['/a~1b', 1],
    ['/m~0n', 8],
    ['/ ', 7],
    ['/foo/2', undefined],
    ['/foo/01', undefined],
    ['/nope/x', undefined],
  ])('%j', (pointer, value) => {
    expect(jsonPointer(doc, pointer)).toEqual(value)
  })
})
