/**
 * cas-correctness: is compare-and-set on a store linearizable under faults, and does a counter
 * incremented by CAS lose no update?
 *
 * Concurrent clients run reads, blind writes and CAS (on the version they last read) on a few
 * register keys, and CAS increments on a counter key, through the whole method, against:
 *   store: nats-kv       a replicated KV bucket read through the stream leader (allow_direct: false)
 *   store: redis         a Lua-script CAS on a Redis hash {value, version}
 *   store: http          a service's own HTTP API (the gateway's by default): request templates,
 *                        JSON pointers to the value and version, the status of a conflict
 *   store: nats-request  a service's own NATS request-reply API with its own protobuf schemas,
 *                        loaded at run time from a descriptor set, and field mappings
 *   store: player-state  the nats-request mapping of the reference target's player-state service
 * so a system's own CAS path is judged from outside, with its own API and nothing of its code.
 *
 * mode: mixed (default) runs a random mix at `rate`; mode: contention runs rounds in which
 * every contender reads a key, meets the others at a barrier and compare-and-sets from the
 * version it read, all at once — exactly one may win (cas/contention.ts). A non-atomic CAS
 * (read, compare, then write) hides from volume and shows at once under contention. Both modes
 * count `contendedCas` (CAS in flight together from one version); a contention run with no
 * contended round is `inconclusive`, never a pass.
 *
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
import { readFileSync } from 'node:fs'
import type { NatsConnection } from '@nats-io/transport-node'
import { connectProbe, waitForRecovery, waitUntilReady } from './cas/cluster.ts'
import { ContentionRounds } from './cas/contention.ts'
import { openHttpStore } from './cas/http-store.ts'
import { compileNatsRequest, openNatsRequestStore } from './cas/nats-request-store.ts'
import { CONTENTION_DEFAULTS, DEFAULT_TIMEOUT, Params } from './cas/params.ts'
import { playerStatePreset } from './cas/presets.ts'
import { brokenStore, openNatsKvStore, openRedisStore, type CasStore } from './cas/stores.ts'
import { CasHistoryWriter, CasWorkload, counterInvariant } from './cas/workload.ts'
import { faultTimeline, heardNow, releaseAll, runToken, type HeardFault } from './shared-run.ts'
import {
  casRegisterPerKey,
  checkOperations,
  defineProbe,
  formatCounterexample,
  parseHistory,
  TargetError,
  writeDuration,
  type CheckResult,
  type Json,
  type Metrics,
  type Probe,
  type ProbeContext,
  type ProbeResult,
} from '../../src/api/index.ts'

type P = Params

const VERDICT: Record<CheckResult['verdict'], string> = { linearizable: 'linearizable', 'not-linearizable': 'not linearizable', unknown: 'unknown' }

export const casCorrectness = defineProbe<P>({
  type: 'cas-correctness',
  description:
    'concurrent read / write / compare-and-set (a random mix, or contention rounds) on NATS KV, Redis, or a service’s own HTTP or NATS request-reply API; linearizability (WGL, per key, time-boxed) and no lost CAS increment',
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
    contendedCas: { unit: 'count', description: 'CAS operations in flight together with another CAS on the same key from the same version' },
    rounds: { unit: 'count', description: 'mode: contention — rounds run' },
    contendedRounds: { unit: 'count', description: 'mode: contention — rounds where at least two CAS left one version at once (0: inconclusive)' },
    severalWinnerRounds: { unit: 'count', description: 'mode: contention — rounds where more than one CAS from one version was acknowledged' },
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
    let rounds: ContentionRounds | undefined
    const faults: HeardFault[] = []
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
      // keys a service accepts as ids and in URLs and subjects: letters, digits, dashes
      if (p.store === 'http') return openHttpStore(p.http!.url ?? ctx.env.endpoints.gateway(), p.http!, { timeoutMs, prefix: `cas-${token}` })
      nc = await connectProbe(ctx.env, p.cluster, `gameday-probe-${ctx.name}`)
      if (p.store === 'player-state') {
        return openNatsRequestStore(nc, compileNatsRequest(playerStatePreset()), {
          timeoutMs,
          prefix: `cas-${token}`,
          kind: 'player-state',
          describe: { store: 'player-state', via: 'nats-request', subjects: 'player-state.get, player-state.update' },
        })
      }
      if (p.store === 'nats-request') return openNatsRequestStore(nc, compileNatsRequest(p.natsRequest!), { timeoutMs, prefix: `cas-${token}` })
      return openNatsKvStore(nc, { bucket: p.bucket, replicas: p.replicas, history: p.history, timeoutMs, prefix: token })
    }

    const start = async () => {
      unsubscribe = ctx.onFault((e) => faults.push(heardNow(e)))
      const real = await openStore()
      store = p.broken ? brokenStore(real, p.broken) : real
      history = new CasHistoryWriter(historyPath)
      const keys = Array.from({ length: p.keys }, (_, i) => `k${i}`)
      workload = new CasWorkload(store, history, {
        keys,
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
        `gameday cas-correctness history: store ${store.kind}, mode ${p.mode}, keys ${workload.allKeys.join(' ')}; time = ms since ${origin.at} (run clock t=${(origin.t / 1000).toFixed(1)}s)`,
      )
      history.comment(`check: gameday check linearizability --model cas-register ${historyPath}`)
      ctx.evidence('cas-start', { store: store.describe as Json, mode: p.mode, history: historyPath })
      if (p.mode === 'contention') {
        const c = p.contention ?? CONTENTION_DEFAULTS
        const r = new ContentionRounds(workload, { contenders: c.contenders, rate: c.rate, keys, counter: p.counter })
        rounds = r
        workload.startWith(() => r.loops())
      } else workload.start()
    }

    const stop = async (): Promise<ProbeResult> => {
      if (!workload || !history || !store) throw new Error('cas-correctness was not started')
      await workload.stop()
      unsubscribe()
      const violations: string[] = []
      const recoveryMs = p.recoveryTimeout
      const s = store
      const recovery =
        p.store === 'redis' || p.store === 'http'
          ? await waitUntilReady(recoveryMs, () => s.ready())
          : await waitForRecovery(ctx.env, p.cluster, recoveryMs, () => s.ready())
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
      const counterFinal = p.counter ? workload.counterValue(final.values) : null
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
        contendedCas: c.contendedCas,
        rounds: rounds?.stats.rounds ?? 0,
        contendedRounds: rounds?.stats.contendedRounds ?? 0,
        severalWinnerRounds: rounds?.stats.severalWinners ?? 0,
        checkMs: Math.round(check.elapsedMs),
      }
      // a pass must rest on evidence: operations that took effect, and in contention mode CAS that met
      const inconclusive: string[] = []
      if (c.ok === 0) inconclusive.push(`no operation took effect (${c.ops} attempted): the store's CAS was never exercised`)
      if (rounds && rounds.stats.contendedRounds === 0)
        inconclusive.push(
          `no contended round: in ${rounds.stats.rounds} round(s) no two CAS left one version at once (${rounds.stats.unreadRounds} round(s) could not read the key) — atomicity was not tested`,
        )
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
        mode: p.mode,
        contention: rounds
          ? {
              ...rounds.stats,
              ...(rounds.stats.firstSeveralWinners
                ? {
                    firstSeveralWinners: {
                      ...rounds.stats.firstSeveralWinners,
                      runClockS: Math.round((origin.t + rounds.stats.firstSeveralWinners.atMs) / 100) / 10,
                    },
                  }
                : {}),
            }
          : { contendedCas: c.contendedCas },
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
        faultTimeline: faultTimeline(faults),
      }
      return { metrics, details, violations, ...(inconclusive.length ? { inconclusive } : {}) }
    }

    return {
      start,
      stop,
      snapshot: (): Metrics => {
        if (!workload) return {}
        const c = workload.counters
        return {
          ops: c.ops,
          ok: c.ok,
          failed: c.failed,
          indeterminate: c.indeterminate,
          contendedCas: c.contendedCas,
          ...(rounds ? { rounds: rounds.stats.rounds, contendedRounds: rounds.stats.contendedRounds } : {}),
        }
      },
      async close() {
        unsubscribe()
        // close() after stop(): the history is already written; stopping twice changes nothing
        await releaseAll(
          () => workload?.stop(),
          () => history?.close(),
          () => store?.close(),
          () => nc?.close(),
        )
      },
    }
  },
})
