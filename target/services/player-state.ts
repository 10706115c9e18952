/**
 * player-state: `player-state.get` and `player-state.update` with compare-and-set on an
 * expected version, over NATS KV (STATE_STORE=kv, default) or Redis (STATE_STORE=redis).
 *
 * After every stored update an event `events.player.<id>.state-updated`
 * (gameday.v1.PlayerStateUpdated) goes to JetStream stream EVENTS with Nats-Msg-Id
 * `<id>:<version>`; the ack is awaited, and a failed publish is logged (`event-publish-failed`)
 * without failing the update, which is already stored.
 *
 * Over Redis (a single server or a Redis Cluster: REDIS_URL, REDIS_NAT_MAP, REDIS_PASSWORD,
 * REDIS_CA_FILE), REDIS_WAIT_REPLICAS=n acknowledges an update only once n replicas have it
 * (WAIT in the same pipeline, REDIS_WAIT_TIMEOUT_MS, default 1000); an update they do not confirm
 * in time answers 504, outcome unknown — replication is asynchronous, and without it an update
 * acknowledged by a primary that then fails over is lost.
 *
 * Broken on purpose: GAMEDAY_BROKEN=skip-cas ignores the expected version;
 * GAMEDAY_BROKEN=ack-without-store answers ok without writing anything;
 * GAMEDAY_BROKEN=non-atomic-cas reads the version, compares, then writes (a race between the two).
 */
import { create, toBinary } from '@bufbuild/protobuf'
import { jetstream, type JetStreamClient } from '@nats-io/jetstream'
import {
  GetPlayerStateRequestSchema,
  GetPlayerStateResponseSchema,
  PlayerStateUpdatedSchema,
  UpdatePlayerStateRequestSchema,
  UpdatePlayerStateResponseSchema,
} from '../../gen/gameday/v1/player_state_pb.ts'
import { endpoint, runService } from '../lib/service.ts'
import { AppError, checkPlayerId, conflict, notFound } from '../lib/errors.ts'
import { intFromEnv } from '../lib/env.ts'
import { ensureStream } from '../lib/jetstream.ts'
import { createRedis, redisReady } from '../lib/redis.ts'
import { nonAtomicCas, openKvStore, openRedisStore, type StateStore } from './player-state/stores.ts'

export const EVENTS_STREAM = 'EVENTS'
export const eventSubject = (playerId: string) => `events.player.${playerId}.state-updated`

const MAX_STATE_BYTES = 64 * 1024

await runService({
  name: 'player-state',
  version: '1.0.0',
  description: 'Player state with compare-and-set on an expected version',
  async setup({ env, log, nc }) {
    const storeKind = env.raw.STATE_STORE || 'kv'
    if (storeKind !== 'kv' && storeKind !== 'redis') throw new Error(`STATE_STORE must be kv or redis, got ${JSON.stringify(storeKind)}`)
    const timeoutMs = intFromEnv(env.raw, 'STORE_TIMEOUT_MS', 2_000)
    const replicas = intFromEnv(env.raw, 'KV_REPLICAS', 3)

    let store: StateStore
    if (storeKind === 'redis') {
      if (!env.redisUrl) throw new Error('STATE_STORE=redis needs REDIS_URL')
      // REDIS_WAIT_REPLICAS: acknowledge an update only once that many replicas have it (WAIT)
      const waitReplicas = intFromEnv(env.raw, 'REDIS_WAIT_REPLICAS', 0)
      const waitTimeoutMs = intFromEnv(env.raw, 'REDIS_WAIT_TIMEOUT_MS', 1_000)
      const redis = createRedis(env.redisUrl, log, { commandTimeoutMs: timeoutMs + (waitReplicas ? waitTimeoutMs : 0), connectTimeoutMs: 1_000 })
      await redisReady(redis, 30_000)
      store = openRedisStore(redis, env.redisUrl, { waitReplicas, waitTimeoutMs, retryForMs: timeoutMs })
    } else {
      store = await openKvStore(nc, log, { replicas, timeoutMs })
    }
    if (env.broken.has('non-atomic-cas')) store = nonAtomicCas(store)
    // The KV store needs JetStream anyway; with Redis, a NATS without JetStream only costs the
    // events (each publish then fails and is logged).
    const events = await ensureStream(nc, log, { name: EVENTS_STREAM, subjects: ['events.>'], num_replicas: replicas }).catch((err) => {
      if (storeKind === 'kv') throw err
      log.error('events-unavailable', err, { stream: EVENTS_STREAM })
      return { replicas: 0 }
    })
    const js: JetStreamClient = jetstream(nc, { timeout: timeoutMs })

    const counters = { writes: 0, conflicts: 0, eventsPublished: 0, eventFailures: 0 }

    const publishEvent = async (playerId: string, state: string, version: bigint, requestId: string) => {
      const event = create(PlayerStateUpdatedSchema, { playerId, state, version, taskId: env.taskId, atMs: BigInt(Date.now()) })
      try {
        const ack = await js.publish(eventSubject(playerId), toBinary(PlayerStateUpdatedSchema, event), {
          msgID: `${playerId}:${version}`,
          timeout: timeoutMs,
        })
        counters.eventsPublished++
        return ack
      } catch (err) {
        counters.eventFailures++
        log.error('event-publish-failed', err, { playerId, version: Number(version), requestId })
        return undefined
      }
    }

    return {
      readyFields: { ...store.describe, eventsStream: EVENTS_STREAM, eventsReplicas: events.replicas },
      statsData: () => ({ ...store.describe, ...counters }),
      release: () => store.close(),
      endpoints: [
        endpoint({
          name: 'get',
          input: GetPlayerStateRequestSchema,
          output: GetPlayerStateResponseSchema,
          async handle(req) {
            const playerId = checkPlayerId(req.playerId)
            const found = await store.get(playerId)
            if (!found) throw notFound(`player ${playerId} has no state`)
            return create(GetPlayerStateResponseSchema, { playerId, state: found.state, version: found.version, servedBy: env.taskId })
          },
        }),
        endpoint({
          name: 'update',
          input: UpdatePlayerStateRequestSchema,
          output: UpdatePlayerStateResponseSchema,
          async handle(req, { requestId }) {
            const playerId = checkPlayerId(req.playerId)
            if (Buffer.byteLength(req.state) > MAX_STATE_BYTES) throw new AppError(400, `state larger than ${MAX_STATE_BYTES} bytes`)
            const expected = env.broken.has('skip-cas') ? undefined : req.expectedVersion
            if (env.broken.has('ack-without-store')) {
              return create(UpdatePlayerStateResponseSchema, { playerId, version: (req.expectedVersion ?? 0n) + 1n, servedBy: env.taskId })
            }
            const result = await store.put(playerId, req.state, expected)
            if (!result.ok) {
              counters.conflicts++
              throw conflict(`version conflict for player ${playerId}: expected ${req.expectedVersion}, current ${result.current}`, result.current)
            }
            counters.writes++
            await publishEvent(playerId, req.state, result.version, requestId)
            return create(UpdatePlayerStateResponseSchema, { playerId, version: result.version, servedBy: env.taskId })
          },
        }),
      ],
    }
  },
})
