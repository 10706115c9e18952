/**
 * cas-correctness: is compare-and-set on a store linearizable under faults, and does a counter
 * incremented by CAS lose no update?
 *
 * Concurrent clients run reads, blind writes and CAS (on the version they last read) on a few
 * register keys, and CAS increments on a counter key, through the whole method, against:
 *   store: nats-kv       a replicated KV bucket read through the stream leader (allow_direct: false)
 *   store: redis         a Lua-script CAS on a Redis hash {value, version}
 *   store: player-state  the target's player-state service (NATS request-reply, protobuf), so the
 *                        system's own CAS path is what is judged
 * The history (JSONL, artifact `<probe>.during.cas.history.jsonl`, checkable later with
 * `gameday check linearizability --model cas-register`) records each operation's invocation and
 * completion (monotonic ms) and outcome: ok, fail (a cas whose compare failed), info (unknown).
 * After the rollback the probe waits for the store to answer, reads every key one last time, and
 * checks the history per key with the WGL search under a time budget; `unknown` (budget spent) is
 * returned as a violation, never a pass. The counter must equal the acknowledged increments
 * (plus at most the indeterminate ones): `lostUpdates == 0`.
 *
 *   load:
 *     - name: cas
 *       probe: cas-correctness
 *       with: { store: nats-kv, keys: 3, clients: 6, rate: 60 }
 *       tolerance: ["linearizable == true", "lostUpdates == 0"]
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import type { NatsConnection } from '@nats-io/transport-node'
import { connectProbe, waitForRecovery } from './cas/cluster.ts'
import { brokenStore, openNatsKvStore, openPlayerStateStore, openRedisStore, type CasStore } from './cas/stores.ts'
import { CasHistoryWriter, CasWorkload, COUNTER_KEY, counterInvariant } from './cas/workload.ts'
import {
  casRegisterPerKey,
  checkOperations,
  defineProbe,
  Duration,
  formatCounterexample,
  parseHistory,
  TargetError,
  writeDuration,
  type CheckResult,
  type FaultEvent,
  type Json,
  type Metrics,
  type Probe,
  type ProbeContext,
  type ProbeResult,
} from '../../src/api/index.ts'

/** per operation, in ms */
const DEFAULT_TIMEOUT = { 'nats-kv': 1000, redis: 500, 'player-state': 3000 } as const

const Params = z.strictObject({
  store: z.enum(['nats-kv', 'redis', 'player-state']).default('nats-kv'),
  cluster: z.string().default('core').describe('nats-kv, player-state: the NATS cluster'),
  cache: z.string().optional().describe('redis: the cache (default: the only one)'),
  bucket: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('gameday-cas')
    .describe('nats-kv: the bucket, created if missing (allow_direct: false)'),
  replicas: z.int().min(1).max(5).default(3).describe('nats-kv: replicas of the bucket when the probe creates it'),
  history: z.int().min(1).max(64).default(16).describe('nats-kv: revisions kept per key when the probe creates the bucket (shown with a counterexample)'),
  keys: z.int().min(1).max(32).default(3).describe('register keys (reads, writes, cas)'),
  counter: z.boolean().default(true).describe('also increment a counter key by CAS (the no-lost-update invariant)'),
  clients: z.int().min(1).max(64).default(6),
  rate: z.number().positive().default(60).describe('operations per second, all clients together'),
  mix: z
    .strictObject({ read: z.number().nonnegative(), write: z.number().nonnegative(), cas: z.number().nonnegative() })
    .default({ read: 0.45, write: 0.1, cas: 0.45 })
    .describe('register operation weights; blind writes are kept rare (an indeterminate one can land anywhere)'),
  maxInFlightPerKey: z.int().positive().default(2),
  timeout: Duration.optional().describe('per operation, then indeterminate (default: nats-kv 1s, redis 500ms, player-state 3s)'),
  budget: Duration.prefault('10s').describe('time budget of the linearizability check; spent = unknown = a violation'),
  recoveryTimeout: Duration.prefault('60s').describe('at stop: how long to wait for the store to answer before the final read'),
  broken: z
    .enum(['skip-compare', 'ack-without-store'])
    .optional()
    .describe('TEST ONLY: a deliberately broken adapter (cas without compare; every 4th write/cas acknowledged, not stored)'),
})
type P = z.infer<typeof Params>

function runToken(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
}

const VERDICT: Record<CheckResult['verdict'], string> = { linearizable: 'linearizable', 'not-linearizable': 'not linearizable', unknown: 'unknown' }

export const casCorrectness = defineProbe<P>({
  type: 'cas-correctness',
  description:
    'concurrent read / write / compare-and-set on NATS KV, Redis or the player-state service; linearizability (WGL, per key, time-boxed) and no lost CAS increment',
  params: Params,
  metrics: {
    ops: { unit: 'count', description: 'operations completed' },
    ok: { unit: 'count', description: 'operations that took effect' },
    failed: { unit: 'count', description: 'operations that certainly did not (a CAS that lost its race)' },
    indeterminate: { unit: 'count', description: 'operations with no answer' },
    linearizable: { unit: 'boolean', description: 'the history is linearizable (unknown is false)' },
    verdict: { unit: 'text', description: 'linearizable | not-linearizable | unknown' },
    lostUpdates: { unit: 'count', description: 'acknowledged counter increments missing from the final value' },
    counterAcked: { unit: 'count', description: 'counter increments acknowledged' },
    counterFinal: { unit: 'count', description: 'the counter read at the end' },
    sameVersionCas: { unit: 'count', description: 'CAS operations acknowledged from a version another CAS also succeeded from' },
    checkMs: { unit: 'ms', description: 'time the linearizability check took' },
  },
  defaultTolerance: ['linearizable == true', 'lostUpdates == 0'],
  async create(ctx: ProbeContext, p: P): Promise<Probe> {
    const token = runToken()
    const timeoutMs = p.timeout ?? DEFAULT_TIMEOUT[p.store]
    const historyPath = ctx.artifactPath('cas.history.jsonl')
    let nc: NatsConnection | undefined
    let store: CasStore | undefined
    let history: CasHistoryWriter | undefined
    let workload: CasWorkload | undefined
    const faults: (FaultEvent & { wall: string })[] = []
    let unsubscribe = () => {}
    /** the run clock (ctx.now(), the journal's `t`) and the wall clock when the history's time was 0 */
    let origin = { t: 0, at: '' }

    const openStore = async (): Promise<CasStore> => {
      if (p.store === 'redis') {
        const caches = Object.keys(ctx.env.topology().caches)
        const cache = p.cache ?? (caches.length === 1 ? caches[0] : undefined)
        if (!cache || !caches.includes(cache))
          throw new TargetError(`cas-correctness: name the cache (with: { cache: ... }; has: ${caches.join(', ') || 'none'})`)
        return openRedisStore(ctx.env.endpoints.redis(cache), { timeoutMs, prefix: `gameday-cas:${token}` })
      }
      nc = await connectProbe(ctx.env, p.cluster, `gameday-probe-${ctx.name}`)
      if (p.store === 'player-state') return openPlayerStateStore(nc, { timeoutMs, prefix: `cas-${token}` })
      return openNatsKvStore(nc, { bucket: p.bucket, replicas: p.replicas, history: p.history, timeoutMs, prefix: token })
    }

    const start = async () => {
      unsubscribe = ctx.onFault((e) => faults.push({ ...e, wall: new Date().toISOString() }))
      const real = await openStore()
      store = p.broken ? brokenStore(real, p.broken) : real
      history = new CasHistoryWriter(historyPath)
      workload = new CasWorkload(store, history, {
        keys: Array.from({ length: p.keys }, (_, i) => `k${i}`),
        counter: p.counter,
        clients: p.clients,
        rate: p.rate,
        mix: p.mix,
        maxInFlightPerKey: p.maxInFlightPerKey,
        rng: ctx.rng,
      })
      const sinceOrigin = performance.now() - workload.originPerf
      origin = { t: ctx.now() - sinceOrigin, at: new Date(Date.now() - sinceOrigin).toISOString() }
      history.comment(
        `gameday cas-correctness history: store ${store.kind}, keys ${workload.allKeys.join(' ')}; time = ms since ${origin.at} (run clock t=${(origin.t / 1000).toFixed(1)}s)`,
      )
      history.comment(`check: gameday check linearizability --model cas-register ${historyPath}`)
      ctx.evidence('cas-start', { store: store.describe as Json, history: historyPath })
      workload.start()
    }

    const stop = async (): Promise<ProbeResult> => {
      if (!workload || !history || !store) throw new Error('cas-correctness was not started')
      await workload.stop()
      unsubscribe()
      const violations: string[] = []
      const recoveryMs = p.recoveryTimeout
      const s = store
      const recovery =
        p.store === 'redis' ? await waitUntil(recoveryMs, () => s.ready()) : await waitForRecovery(ctx.env, p.cluster, recoveryMs, () => s.ready())
      const final = recovery.ok ? await workload.finalRead(performance.now() + recoveryMs / 2) : { values: {}, unread: workload.allKeys }
      if (!recovery.ok) violations.push(`no final read: the store was not ready after ${Math.round(recovery.waitedMs / 1000)}s (${recovery.missing})`)
      else if (final.unread.length) violations.push(`final read failed for ${final.unread.join(', ')}`)
      history.close()

      const ops = parseHistory(readFileSync(historyPath, 'utf8'), historyPath)
      const check = await checkOperations(casRegisterPerKey, ops, { budgetMs: p.budget })
      if (check.verdict === 'unknown') {
        violations.push(
          `linearizability unknown: ${check.undecided} of ${check.partitions} key(s) undecided when the ${writeDuration(p.budget)} budget was spent — not a pass`,
        )
      }
      const c = workload.counters
      const counterFinal = p.counter ? (COUNTER_KEY in final.values ? final.values[COUNTER_KEY] : undefined) : null
      const invariant = p.counter ? counterInvariant(counterFinal, c.counterAcked, c.counterIndeterminate) : { lostUpdates: 0, phantomIncrements: 0 }
      if (invariant.phantomIncrements > 0) {
        violations.push(`the counter is ${counterFinal}, more than the ${c.counterAcked} acknowledged + ${c.counterIndeterminate} indeterminate increments`)
      }
      const counterexample = check.counterexample ? formatCounterexample(check.counterexample) : undefined
      if (counterexample) ctx.evidence('cas-counterexample', { lines: counterexample })
      // what the store itself still holds for that key: tells "both writes stored" from "acked, never stored"
      let storedRevisions: Json | undefined
      const badKey = (check.counterexample?.blocked.op.input as { key?: string } | undefined)?.key
      if (badKey !== undefined && store.revisions) {
        storedRevisions = await store
          .revisions(badKey)
          .then((r) => r.slice(-40) as unknown as Json)
          .catch((err: Error) => `unavailable: ${err.message}`)
      }
      const metrics: Metrics = {
        ops: c.ops,
        ok: c.ok,
        failed: c.failed,
        indeterminate: c.indeterminate,
        linearizable: check.verdict === 'linearizable',
        verdict: VERDICT[check.verdict],
        lostUpdates: invariant.lostUpdates,
        counterAcked: c.counterAcked,
        counterFinal: counterFinal === undefined ? NaN : (counterFinal ?? 0),
        sameVersionCas: workload.sameVersionCas.length,
        checkMs: Math.round(check.elapsedMs),
      }
      const details: Json = {
        history: historyPath,
        historyOrigin: origin,
        store: store.describe as Json,
        verdict: VERDICT[check.verdict],
        ...(counterexample ? { counterexample } : {}),
        ...(storedRevisions !== undefined ? { storedRevisions: { key: badKey!, revisions: storedRevisions } } : {}),
        check: {
          operations: check.operations,
          partitions: check.partitions,
          undecided: check.undecided,
          steps: check.steps,
          elapsedMs: Math.round(check.elapsedMs),
          budget: String(p.budget),
        },
        counter: p.counter ? { final: counterFinal ?? null, acknowledged: c.counterAcked, indeterminate: c.counterIndeterminate, ...invariant } : null,
        compareFailed: c.compareFailed,
        ...(workload.sameVersionCas.length
          ? {
              sameVersionCas: workload.sameVersionCas
                .slice(0, 10)
                .map(
                  (d) =>
                    `key ${d.key}: two cas acknowledged from version ${d.expected} — ${d.values[0]} (stored as version ${d.versions[0]}) and ${d.values[1]} (as version ${d.versions[1]}), completed at history t=${d.times[0]}ms and ${d.times[1]}ms (run clock ${((origin.t + d.times[1]) / 1000).toFixed(1)}s)`,
                ),
            }
          : {}),
        errors: c.causes,
        finalRead: final.values as Json,
        recovery: { ok: recovery.ok, waitedMs: Math.round(recovery.waitedMs) },
        faultTimeline: faults.map((f) => ({ at: f.wall, t: Math.round(f.at / 100) / 10, kind: f.kind, type: f.type, faultId: f.faultId })),
      }
      return { metrics, details, violations }
    }

    return {
      start,
      stop,
      snapshot: (): Metrics => {
        if (!workload) return {}
        const c = workload.counters
        return { ops: c.ops, ok: c.ok, failed: c.failed, indeterminate: c.indeterminate }
      },
      async close() {
        unsubscribe()
        // close() after stop(): the history is already written; stopping twice changes nothing
        await workload?.stop().catch(() => {})
        try {
          history?.close()
        } catch {
          // already closed
        }
        // releasing connections that may already be closed: nothing of the history depends on them
        await store?.close().catch(() => {})
        // releasing a connection that may already be closed
        await nc?.close().catch(() => {})
      },
    }
  },
})

async function waitUntil(timeoutMs: number, ready: () => Promise<string | undefined>): Promise<{ ok: boolean; waitedMs: number; missing?: string }> {
  const started = performance.now()
  let missing: string | undefined = 'not checked'
  while (performance.now() - started <= timeoutMs) {
    missing = await ready().catch((err: Error) => err.message)
    if (missing === undefined) return { ok: true, waitedMs: performance.now() - started }
    await new Promise((r) => setTimeout(r, 250))
  }
  return { ok: false, waitedMs: performance.now() - started, missing }
}
