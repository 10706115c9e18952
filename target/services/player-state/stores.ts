/**
 * Where player state lives, behind one compare-and-set interface:
 *
 *   put(id, state)            unconditional write
 *   put(id, state, 0n)        create: only if absent
 *   put(id, state, v)         compare-and-set: only if the stored version is v
 *
 * A mismatch answers `{ ok: false, current }` (0n = absent). A write whose outcome is unknown
 * (timeout, connection lost mid-flight) throws: the caller must not report it as failed.
 */
import { jetstream, JetStreamApiError, JetStreamApiCodes } from '@nats-io/jetstream'
import { Kvm, type KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Logger } from '../../lib/log.ts'
import { retryJetStream, withReplicaFallback } from '../../lib/jetstream.ts'

export interface StoredState {
  state: string
  version: bigint
}

export type PutResult = { ok: true; version: bigint } | { ok: false; current: bigint }

export interface StateStore {
  readonly kind: 'kv' | 'redis'
  /** fields for the ready line and `$SRV.STATS` */
  readonly describe: Record<string, unknown>
  get(playerId: string): Promise<StoredState | null>
  put(playerId: string, state: string, expectedVersion?: bigint): Promise<PutResult>
  close(): Promise<void>
}

export const KV_BUCKET = 'player-state'

/**
 * NATS KV bucket `player-state`, key = player id, version = the entry's revision (its stream
 * sequence). Reads go through the stream leader (`allow_direct: false` on a bucket we create),
 * so a read never returns a value older than an acknowledged write.
 */
export async function openKvStore(nc: NatsConnection, log: Logger, opts: { replicas: number; timeoutMs: number }): Promise<StateStore> {
  const kvm = new Kvm(jetstream(nc, { timeout: opts.timeoutMs }))
  const { value: kv } = await retryJetStream(`kv ${KV_BUCKET}`, log, 30_000, () =>
    withReplicaFallback(nc, `kv ${KV_BUCKET}`, opts.replicas, log, (replicas) => kvm.create(KV_BUCKET, { replicas, history: 1, allow_direct: false })),
  )
  // what the server actually placed (a standalone server silently keeps a single replica)
  const replicas = (await kv.status()).streamInfo.config.num_replicas
  const current = async (kv: KV, key: string): Promise<bigint> => {
    const entry = await kv.get(key)
    return entry && entry.operation === 'PUT' ? BigInt(entry.revision) : 0n
  }
  return {
    kind: 'kv',
    describe: { store: 'kv', bucket: KV_BUCKET, replicas },
    async get(playerId) {
      const entry = await kv.get(playerId)
      if (!entry || entry.operation !== 'PUT') return null
      return { state: entry.string(), version: BigInt(entry.revision) }
    },
    async put(playerId, state, expectedVersion) {
      try {
        let revision: number
        if (expectedVersion === undefined) revision = await kv.put(playerId, state)
        else if (expectedVersion === 0n) revision = await kv.create(playerId, state)
        else revision = await kv.update(playerId, state, Number(expectedVersion))
        return { ok: true, version: BigInt(revision) }
      } catch (err) {
        if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) {
          return { ok: false, current: await current(kv, playerId) }
        }
        throw err
      }
    },
    async close() {},
  }
}

export { openRedisStore, redisKey, type RedisDurability } from './redis-store.ts'

/**
 * BROKEN ON PURPOSE (GAMEDAY_BROKEN=non-atomic-cas): compare-and-set as a user might write it —
 * read the stored version, compare it in the handler, then write unconditionally. Between the
 * read's answer and the write's arrival (an await: a store round trip) another update from the
 * same version can pass the same check, and both are acknowledged: a lost update. Atomic in
 * every single-threaded test; only concurrent updates from one version expose it.
 */
export function nonAtomicCas(store: StateStore): StateStore {
  return {
    ...store,
    describe: { ...store.describe, broken: 'non-atomic-cas' },
    async put(playerId, state, expectedVersion) {
      if (expectedVersion === undefined) return store.put(playerId, state)
      const current = (await store.get(playerId))?.version ?? 0n
      if (current !== expectedVersion) return { ok: false, current }
      return store.put(playerId, state)
    },
  }
}
