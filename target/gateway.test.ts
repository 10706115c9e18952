import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { create, toBinary } from '@bufbuild/protobuf'
import { connect, headers, type NatsConnection } from '@nats-io/transport-node'
import { startNatsServer, type TestServer } from '../test/support/servers.ts'
import { waitFor } from '../src/util/abort.ts'
import { ErrorDetailSchema } from '../gen/gameday/v1/common_pb.ts'
import { killAllTasks, spawnGateway, spawnTask, http, type GatewayTask } from './testing/tasks.ts'

describe('gateway', () => {
  let nats: TestServer
  let gateway: GatewayTask
  let nc: NatsConnection

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: false })
    const env = { NATS_URL: nats.url }
    ;[gateway] = await Promise.all([
      spawnGateway({ ...env, REQUEST_TIMEOUT_MS: '500' }),
      spawnTask('inventory', { ...env, TASK_ID: 'inventory-a' }),
      spawnTask('inventory', { ...env, TASK_ID: 'inventory-b', AZ: 'az-b' }),
    ])
    nc = await connect({ servers: nats.url })
  })

  afterAll(async () => {
    await nc?.close()
    await killAllTasks()
    await nats?.stop()
  })

  it('is alive and ready once connected', async () => {
    const live = await http(`${gateway.url}/healthz`)
    expect(live.status).toBe(200)
    const ready = await http(`${gateway.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(ready.body).toMatchObject({ ready: true, nats: true, draining: false })
    expect(gateway.logs.filter((l) => l.event === 'ready')).toHaveLength(1)
  })

  it('round-trips an inventory over NATS with protobuf, shared by both tasks', async () => {
    const first = await http(`${gateway.url}/v1/inventory/player-1`)
    expect(first.status).toBe(200)
    expect(first.body.playerId).toBe('player-1')
    expect(first.body.items.length).toBeGreaterThan(0)
    expect(first.body.items[0]).toEqual({ sku: expect.any(String), name: expect.any(String), quantity: expect.any(Number) })
    const servedBy = new Set<string>()
    for (let i = 0; i < 40; i++) {
      const again = await http(`${gateway.url}/v1/inventory/player-1`)
      expect(again.status).toBe(200)
      expect({ ...again.body, servedBy: undefined }).toEqual({ ...first.body, servedBy: undefined })
      servedBy.add(again.body.servedBy)
    }
    expect(servedBy).toEqual(new Set(['inventory-a', 'inventory-b']))
  })

  it('echoes or generates x-request-id and passes it to the service', async () => {
    const given = await http(`${gateway.url}/v1/inventory/p2`, { headers: { 'x-request-id': 'req-123' } })
    expect(given.headers.get('x-request-id')).toBe('req-123')
    const generated = await http(`${gateway.url}/v1/inventory/p2`)
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)

    const seen: string[] = []
    const sub = nc.subscribe('player-state.get', {
      max: 1,
      callback: (_err, msg) => {
        seen.push(msg.headers?.get('X-Request-Id') ?? '')
        const h = headers()
        h.set('Nats-Service-Error-Code', '404')
        h.set('Nats-Service-Error', 'nobody here')
        msg.respond(toBinary(ErrorDetailSchema, create(ErrorDetailSchema, { code: 404, message: 'player p3 has no state' })), { headers: h })
      },
    })
    await nc.flush()
    const res = await http(`${gateway.url}/v1/players/p3/state`, { headers: { 'x-request-id': 'req-456' } })
    await sub.closed
    expect(seen).toEqual(['req-456'])
    expect(res.status).toBe(404)
    expect(res.body).toEqual({ error: { code: 404, message: 'player p3 has no state' }, requestId: 'req-456' })
    expect(res.headers.get('x-request-id')).toBe('req-456')
  })

  it('maps a service error code (400 from inventory on a bad id)', async () => {
    const res = await http(`${gateway.url}/v1/inventory/bad.id`)
    expect(res.status).toBe(400)
    expect(res.body.error.message).toMatch(/invalid player id/)
  })

  it('answers 503 when no service responds', async () => {
    const res = await http(`${gateway.url}/v1/ai/recommend`, { method: 'POST', json: { playerId: 'p1' } })
    expect(res.status).toBe(503)
    expect(res.body).toMatchObject({ error: { code: 503 }, reason: 'no-responders' })
  })

  it('answers 504 when the service is slower than REQUEST_TIMEOUT_MS', async () => {
    const sub = nc.subscribe('player-state.get', { max: 1, callback: () => {} }) // takes it, never answers
    await nc.flush()
    const res = await http(`${gateway.url}/v1/players/slow/state`)
    expect(res.status).toBe(504)
    expect(res.body).toMatchObject({ error: { code: 504 }, reason: 'timeout' })
    expect(res.ms).toBeGreaterThanOrEqual(450)
    sub.unsubscribe()
  })

  it('rejects bad requests before calling NATS', async () => {
    expect((await http(`${gateway.url}/nope`)).status).toBe(404)
    expect((await http(`${gateway.url}/v1/inventory/p1`, { method: 'DELETE' })).status).toBe(405)
    expect((await http(`${gateway.url}/v1/players/p1/state`, { method: 'PUT', body: 'not json' })).status).toBe(400)
    expect((await http(`${gateway.url}/v1/players/p1/state`, { method: 'PUT', json: { state: 's', expectedVersion: -1 } })).status).toBe(400)
    expect((await http(`${gateway.url}/v1/ai/recommend`, { method: 'POST', json: {} })).status).toBe(400)
  })
})

describe('gateway readiness', () => {
  afterEach(() => killAllTasks())

  it('stays alive but turns not-ready when NATS goes away', async () => {
    const nats = await startNatsServer({ jetstream: false })
    try {
      const gateway = await spawnGateway({ NATS_URL: nats.url })
      expect((await http(`${gateway.url}/readyz`)).status).toBe(200)
      nats.process.kill('SIGKILL')
      await waitFor('readyz 503', async () => (await http(`${gateway.url}/readyz`)).status === 503, { timeoutMs: 10_000, intervalMs: 50 })
      expect((await http(`${gateway.url}/healthz`)).status).toBe(200)
      const res = await http(`${gateway.url}/readyz`)
      expect(res.body).toMatchObject({ ready: false, nats: false, draining: false })
    } finally {
      await nats.stop()
    }
  })
})
