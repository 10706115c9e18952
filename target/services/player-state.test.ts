import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { startNatsServer, startRedisServer, type TestServer } from '../../test/support/servers.ts'
import {
  GetPlayerStateRequestSchema,
  GetPlayerStateResponseSchema,
  PlayerStateUpdatedSchema,
  UpdatePlayerStateRequestSchema,
  UpdatePlayerStateResponseSchema,
} from '../../gen/gameday/v1/player_state_pb.ts'
import { killAllTasks, spawnGateway, spawnTask, http, type GatewayTask, type Task } from '../testing/tasks.ts'

let nats: TestServer
let redis: TestServer
let gateway: GatewayTask
let nc: NatsConnection
let jsm: JetStreamManager

beforeAll(async () => {
  ;[nats, redis] = await Promise.all([startNatsServer(), startRedisServer()])
  gateway = await spawnGateway({ NATS_URL: nats.url, REQUEST_TIMEOUT_MS: '3000' })
  nc = await connect({ servers: nats.url })
  jsm = await jetstreamManager(nc)
})

afterAll(async () => {
  await nc?.close()
  await killAllTasks()
  await Promise.all([nats?.stop(), redis?.stop()])
})

const put = (id: string, body: Record<string, unknown>) => http(`${gateway.url}/v1/players/${id}/state`, { method: 'PUT', json: body })
const get = (id: string) => http(`${gateway.url}/v1/players/${id}/state`)

/** Starts a player-state task as the only responder on player-state.*; stops it after the block. */
function withPlayerState(env: Record<string, string>): () => Task {
  let task: Task
  beforeAll(async () => {
    task = await spawnTask('player-state', { NATS_URL: nats.url, REDIS_URL: redis.url, ...env })
  })
  afterAll(async () => {
    await task?.terminate()
  })
  return () => task
}

describe.each(['kv', 'redis'] as const)('player-state on %s', (store) => {
  const task = withPlayerState({ STATE_STORE: store })
  const id = (name: string) => `${store}-${name}`

  it('announces its store when ready', () => {
    const ready = task().logs.find((l) => l.event === 'ready')
    expect(ready).toMatchObject({ store, subjects: ['player-state.get', 'player-state.update'], eventsStream: 'EVENTS' })
    if (store === 'kv') {
      // KV_REPLICAS defaults to 3; a single server cannot place that, so the bucket falls back to 1
      expect(ready).toMatchObject({ bucket: 'player-state', replicas: 1 })
      expect(task().logs.some((l) => l.event === 'replicas-fallback')).toBe(true)
    }
  })

  it('answers 404 for a player without state', async () => {
    const res = await get(id('nobody'))
    expect(res.status).toBe(404)
  })

  it('creates only if absent (expectedVersion 0)', async () => {
    const created = await put(id('create'), { state: 'a', expectedVersion: 0 })
    expect(created.status).toBe(200)
    expect(created.body.version).toBeGreaterThan(0)
    const again = await put(id('create'), { state: 'b', expectedVersion: 0 })
    expect(again.status).toBe(409)
    expect(again.body.currentVersion).toBe(created.body.version)
    expect((await get(id('create'))).body).toMatchObject({ state: 'a', version: created.body.version })
  })

  it('compare-and-sets: ok on the current version, 409 with the current version on a stale one', async () => {
    const v1 = (await put(id('cas'), { state: 'one', expectedVersion: 0 })).body.version
    const ok = await put(id('cas'), { state: 'two', expectedVersion: v1 })
    expect(ok.status).toBe(200)
    const v2 = ok.body.version
    expect(v2).toBeGreaterThan(v1)
    const stale = await put(id('cas'), { state: 'three', expectedVersion: v1 })
    expect(stale.status).toBe(409)
    expect(stale.body).toMatchObject({ error: { code: 409 }, currentVersion: v2 })
    expect((await get(id('cas'))).body).toMatchObject({ playerId: id('cas'), state: 'two', version: v2 })
    // a CAS on a player that does not exist conflicts with current version 0
    const missing = await put(id('cas-missing'), { state: 'x', expectedVersion: 7 })
    expect(missing.status).toBe(409)
    expect(missing.body.currentVersion).toBe(0)
  })

  it('writes unconditionally without expectedVersion, present or absent', async () => {
    const first = await put(id('blind'), { state: 'x' })
    expect(first.status).toBe(200)
    const second = await put(id('blind'), { state: 'y', expectedVersion: null })
    expect(second.status).toBe(200)
    expect(second.body.version).toBeGreaterThan(first.body.version)
    expect((await get(id('blind'))).body).toMatchObject({ state: 'y', version: second.body.version })
  })

  it('lets exactly one of many concurrent CAS writers win', async () => {
    const v = (await put(id('race'), { state: 'start', expectedVersion: 0 })).body.version
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => put(id('race'), { state: `w${i}`, expectedVersion: v })))
    const statuses = results.map((r) => r.status).sort()
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s === 409)).toHaveLength(11)
    const winner = results.find((r) => r.status === 200)!
    for (const loser of results.filter((r) => r.status === 409)) expect(loser.body.currentVersion).toBe(winner.body.version)
  })

  it('publishes a state-updated event to EVENTS with Nats-Msg-Id <id>:<version>', async () => {
    const written = await put(id('evt'), { state: 'hello' })
    expect(written.status).toBe(200)
    const msg = await jsm.streams.getMessage('EVENTS', { last_by_subj: `events.player.${id('evt')}.state-updated` })
    expect(msg).not.toBeNull()
    expect(msg!.header.get('Nats-Msg-Id')).toBe(`${id('evt')}:${written.body.version}`)
    const event = fromBinary(PlayerStateUpdatedSchema, msg!.data)
    expect(event).toMatchObject({ playerId: id('evt'), state: 'hello', version: BigInt(written.body.version), taskId: task().taskId })
  })

  it('shows its store and counters in $SRV.STATS', async () => {
    const reply = await nc.request('$SRV.STATS.player-state', undefined, { timeout: 2_000 })
    const stats = reply.json<{ endpoints: Array<{ name: string; data: Record<string, unknown> }> }>()
    const update = stats.endpoints.find((e) => e.name === 'update')!
    expect(update.data).toMatchObject({ store, eventFailures: 0 })
    expect(update.data.writes).toBeGreaterThan(0)
    expect(update.data.conflicts).toBeGreaterThan(0)
  })
})

describe('player-state broken on purpose: skip-cas', () => {
  withPlayerState({ GAMEDAY_BROKEN: 'skip-cas' })

  it('accepts a stale expected version', async () => {
    const v1 = (await put('skip-cas', { state: 'one' })).body.version
    await put('skip-cas', { state: 'two' })
    const stale = await put('skip-cas', { state: 'three', expectedVersion: v1 })
    expect(stale.status).toBe(200)
  })
})

describe('player-state broken on purpose: ack-without-store', () => {
  withPlayerState({ GAMEDAY_BROKEN: 'ack-without-store', STATE_STORE: 'redis' })

  it('acknowledges writes it never stored', async () => {
    const written = await put('ack-no-store', { state: 'lost', expectedVersion: 0 })
    expect(written.status).toBe(200)
    expect((await get('ack-no-store')).status).toBe(404)
  })
})

describe('player-state when the event cannot be published', () => {
  let bare: TestServer
  afterAll(async () => {
    await killAllTasks()
    await bare?.stop()
  })

  it('still stores and acknowledges the update, and logs the failed publish', async () => {
    bare = await startNatsServer({ jetstream: false }) // no JetStream: the EVENTS stream cannot exist
    const task = await spawnTask('player-state', { NATS_URL: bare.url, REDIS_URL: redis.url, STATE_STORE: 'redis', STORE_TIMEOUT_MS: '500' })
    expect(task.logs.some((l) => l.event === 'events-unavailable')).toBe(true)
    const bareNc = await connect({ servers: bare.url })
    try {
      const request = create(UpdatePlayerStateRequestSchema, { playerId: 'no-events', state: 'kept', expectedVersion: 0n })
      const reply = await bareNc.request('player-state.update', toBinary(UpdatePlayerStateRequestSchema, request), { timeout: 3_000 })
      expect(reply.headers?.get('Nats-Service-Error-Code') ?? '').toBe('')
      expect(fromBinary(UpdatePlayerStateResponseSchema, reply.data)).toMatchObject({ playerId: 'no-events', version: 1n })
      await task.waitForLog((l) => l.event === 'event-publish-failed' && l.playerId === 'no-events')
      const read = await bareNc.request(
        'player-state.get',
        toBinary(GetPlayerStateRequestSchema, create(GetPlayerStateRequestSchema, { playerId: 'no-events' })),
      )
      expect(fromBinary(GetPlayerStateResponseSchema, read.data)).toMatchObject({ state: 'kept', version: 1n })
    } finally {
      await bareNc.close()
    }
  })
})
