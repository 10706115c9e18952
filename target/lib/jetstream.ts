/**
 * JetStream set-up that survives a cluster still forming: retried with a short backoff until
 * a deadline (no meta leader yet, not every peer known yet, timeouts), and a replica count
 * that falls back to 1 only on a standalone server, which cannot place more. In a cluster a
 * placement error is taken as transient: falling back there would leave a durable bucket at
 * R1 forever because the task started a second before its peers.
 */
import { setTimeout as delay } from 'node:timers/promises'
import { jetstreamManager, JetStreamApiError, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { parseTaskEnv } from './env.ts'
import type { Logger } from './log.ts'

/** Errors meaning "that many replicas cannot be placed here". */
export function isReplicaPlacementError(err: unknown): boolean {
  return err instanceof JetStreamApiError && /replica|insufficient resources|non-clustered|no suitable peers/i.test(err.message)
}

/** `JetStreamNotEnabled` is not exported by @nats-io/jetstream 3.4: recognise it by name. */
export function isJetStreamNotEnabled(err: unknown): boolean {
  return err instanceof Error && err.name === 'JetStreamNotEnabled'
}

/** Retries `work` while JetStream is temporarily unavailable (no meta leader yet, timeouts). */
export async function retryJetStream<T>(what: string, log: Logger, deadlineMs: number, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + deadlineMs
  for (let attempt = 1; ; attempt++) {
    try {
      return await work()
    } catch (err) {
      if (isJetStreamNotEnabled(err) || Date.now() > deadline) throw err
      log.error('jetstream-retry', err, { what, attempt })
      await delay(Math.min(100 * attempt, 1_000))
    }
  }
}

/** Whether the connected server is part of a cluster (its INFO names one). */
export function isClustered(nc: NatsConnection): boolean {
  return Boolean(nc.info?.cluster)
}

/** Runs `create(replicas)`, and `create(1)` if a standalone server cannot place that many. */
export async function withReplicaFallback<T>(
  nc: NatsConnection,
  what: string,
  replicas: number,
  log: Logger,
  create: (replicas: number) => Promise<T>,
): Promise<{ value: T; replicas: number }> {
  try {
    return { value: await create(replicas), replicas }
  } catch (err) {
    if (replicas <= 1 || !isReplicaPlacementError(err) || isClustered(nc)) throw err
    log.error('replicas-fallback', err, { what, asked: replicas, using: 1 })
    return { value: await create(1), replicas: 1 }
  }
}

/**
 * The replicas a new stream gets: as asked, except under GAMEDAY_BROKEN=one-replica-stream, a
 * stream the system depends on created at R1 (it loses acknowledged messages with its one
 * server). Read from the task's environment here, where every stream of the target is made.
 */
export function replicasToCreate(asked: number, env: NodeJS.ProcessEnv = process.env): number {
  return parseTaskEnv(env, { service: 'jetstream' }).broken.has('one-replica-stream') ? 1 : asked
}

/** Creates the stream if it does not exist (an existing stream is left as it is). */
export async function ensureStream(
  nc: NatsConnection,
  log: Logger,
  config: Partial<StreamConfig> & { name: string },
  deadlineMs = 30_000,
): Promise<{ replicas: number }> {
  config = { ...config, num_replicas: replicasToCreate(config.num_replicas ?? 1) }
  const jsm: JetStreamManager = await jetstreamManager(nc, { timeout: 2_000, checkAPI: false })
  return retryJetStream(`stream ${config.name}`, log, deadlineMs, async () => {
    try {
      const info = await jsm.streams.info(config.name)
      return { replicas: info.config.num_replicas }
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== 10059) throw err // 10059: stream not found
    }
    const { value: info } = await withReplicaFallback(nc, `stream ${config.name}`, config.num_replicas ?? 1, log, async (n) => {
      try {
        return await jsm.streams.add({ ...config, num_replicas: n })
      } catch (err) {
        // another task created it first
        if (err instanceof JetStreamApiError && /already in use/i.test(err.message)) return jsm.streams.info(config.name)
        throw err
      }
    })
    const replicas = info.config.num_replicas
    log('stream-ready', { stream: config.name, subjects: info.config.subjects, replicas })
    return { replicas }
  })
}
