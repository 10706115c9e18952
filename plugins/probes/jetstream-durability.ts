/**
 * jetstream-durability: does a replicated stream keep every message it acknowledged?
 *
 * Writers publish unique integers (payload = the value, `Nats-Msg-Id` = run token + value) to a
 * replicated stream through the whole method. Every publish goes to the durability history
 * (artifact `<probe>.during.durability.history`) as acknowledged (with its stream sequence),
 * failed (the stream refused it), or indeterminate — a timeout or a lost connection: the message
 * may still have been stored, so it is never counted as a failure. After the rollback, the probe
 * waits (bounded) for a healthy cluster and a stream leader, drains the stream with a fresh
 * ordered consumer, re-asks the stream leader (STREAM.MSG.GET by sequence) about any
 * acknowledged value the drain did not see, and runs the durability checker: lost (acked, never
 * read), unexpected (read, never published), duplicated, recovered / unknown (indeterminate, read
 * or not), and where each writer's lost values sit (prefix / middle / postfix).
 *
 *   load:
 *     - name: durability
 *       probe: jetstream-durability
 *       with: { cluster: core, stream: GAMEDAY_DURABILITY, writers: 4, rate: 100, replicas: 3 }
 *       tolerance: ["lost == 0", "unexpected == 0"]
 *
 * Each run publishes on its own subject (`<subject>.<run token>`, the stream holds
 * `<subject>.>`), so an existing stream is reused without purging, and the drain reads only
 * this run's messages.
 *
 * The system's own stream: with `create: false` the stream must already exist and take the
 * subject; the probe never creates or changes it (its messages stay, unless `purge: true`
 * removes this run's subject afterwards). Pick a subject the system's consumers ignore:
 *
 *       with: { stream: EVENTS, subject: events.gameday-durability, create: false }
 *
 * Evidence: the publishes in flight at each fault injection (`inFlightAtKill`: in flight at any
 * moment of the `killWindow` before the injection was reported done, durability/in-flight.ts).
 * A kill that met no publish in flight tested nothing; when every kill met none, the verdict is
 * inconclusive.
 */
import { z } from 'zod'
import { jetstream, jetstreamManager, JetStreamApiError, JetStreamError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
import { ClosedConnectionError, DrainingConnectionError, RequestError, TimeoutError, type NatsConnection } from '@nats-io/transport-node'
import { clockOrigin, connectProbe, waitForRecovery, wallClock } from './cas/cluster.ts'
import { InFlightWindow } from './durability/in-flight.ts'
import { faultTimeline, heardNow, releaseAll, runToken, type HeardFault } from './shared-run.ts'
import {
  DurabilityHistoryWriter,
  Duration,
  GamedayError,
  defineProbe,
  readDurabilityFile,
  sleep,
  type DurabilityResult,
  type Json,
  type Metrics,
  type Probe,
  type ProbeContext,
  type ProbeResult,
  type PublishOutcome,
} from '../../src/api/index.ts'

const Params = z.strictObject({
  cluster: z.string().default('core'),
  stream: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('GAMEDAY_DURABILITY')
    .describe('created if missing (subjects `<subject>.>`), unless create: false'),
  subject: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/)
    .default('gameday.durability')
    .describe('subject prefix; each run publishes on `<subject>.<run token>`'),
  writers: z.int().positive().max(64).default(4).describe('concurrent publishers, one publish in flight each'),
  rate: z.number().positive().default(100).describe('publishes per second, all writers together'),
  replicas: z.int().min(1).max(5).default(3).describe('replicas of the stream when the probe creates it'),
  create: z.boolean().default(true).describe("false: the stream is the system's own — it must exist and take `<subject>.>`, and is never created or changed"),
  killWindow: Duration.prefault('100ms').describe('a publish in flight at any moment this long before an injection was reported done met the kill'),
  purge: z.boolean().default(false).describe("after the verdict, purge this run's subject (its own messages only) from the stream"),
  timeout: Duration.prefault('2s').describe('how long a publish waits for its ack before it is indeterminate'),
  recoveryTimeout: Duration.prefault('60s').describe('at stop: how long to wait for a healthy cluster and a stream leader'),
  drainTimeout: Duration.prefault('30s').describe('at stop: how long the final read may take'),
  firstLost: z.int().nonnegative().default(20).describe('how many lost values the details list'),
  broken: z
    .enum(['ack-without-store'])
    .optional()
    .describe('TEST ONLY: a deliberately broken publisher that records every 5th message as acknowledged without publishing it'),
})
type P = z.infer<typeof Params>

/**
 * How a failed publish counts: refused by the stream (fail) or outcome unknown (info).
 * (nats.js turns "no responders" on a publish into a JetStreamNotEnabled error, which it does not
 * export: matched by name.)
 */
export function classifyPublishError(err: unknown): { outcome: Exclude<PublishOutcome, 'ack'>; cause: string } {
  // the server answered with an API error: the stream refused the message
  if (err instanceof JetStreamApiError) return { outcome: 'fail', cause: `api-${err.code}` }
  // nobody listens on the subject (no stream leader / stream gone): the message went nowhere
  if ((err as Error)?.name === 'JetStreamNotEnabled') return { outcome: 'fail', cause: 'no-responders' }
  if (err instanceof RequestError && err.isNoResponders()) return { outcome: 'fail', cause: 'no-responders' }
  // never sent: the client was closed or draining before the publish left
  if (err instanceof ClosedConnectionError || err instanceof DrainingConnectionError) return { outcome: 'fail', cause: 'client-closed' }
  // a timeout, a dropped connection, a garbled ack: the message may have been stored
  if (err instanceof TimeoutError) return { outcome: 'info', cause: 'timeout' }
  if (err instanceof JetStreamError) return { outcome: 'info', cause: 'bad-ack' }
  return { outcome: 'info', cause: (err as Error)?.name || 'error' }
}

/** NATS subject matching with `*` and `>` wildcards. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.')
  const s = subject.split('.')
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false
  }
  return p.length === s.length
}

/** Counters kept while publishing (distinct messages: each value is published once). */
export interface PublishCounters {
  attempted: number
  acknowledged: number
  failed: number
  indeterminate: number
  inFlight: number
  duplicateAcks: number
  causes: Record<string, number>
}

/**
 * The recording side, separate from NATS so it can be tested with scripted outcomes: one writer
 * loop per writer id, each with one publish in flight, paced to `rate` in total.
 */
export class PublishRecorder {
  readonly counters: PublishCounters = { attempted: 0, acknowledged: 0, failed: 0, indeterminate: 0, inFlight: 0, duplicateAcks: 0, causes: {} }
  private nextValue = 1
  private running = false
  private loops: Promise<void>[] = []
  readonly origin = clockOrigin()

  constructor(
    private readonly history: DurabilityHistoryWriter,
    private readonly publish: (writer: number, value: number) => Promise<{ seq: number; duplicate?: boolean }>,
    private readonly opts: { writers: number; rate: number },
  ) {}

  /** ms since the recorder was created (monotonic): the `at` of history lines */
  now(): number {
    return performance.now() - this.origin.perf
  }

  start(): void {
    this.running = true
    const interval = (1000 * this.opts.writers) / this.opts.rate
    for (let w = 0; w < this.opts.writers; w++) {
      this.loops.push(
        (async () => {
          // spread the writers over one interval
          let next = performance.now() + (interval * w) / this.opts.writers
          while (this.running) {
            const wait = next - performance.now()
            if (wait > 0) await sleep(wait)
            if (!this.running) break
            await this.publishOne(w)
            // open a new slot; when behind (a publish hung), do not burst to catch up
            next = Math.max(next + interval, performance.now())
          }
        })(),
      )
    }
  }

  async publishOne(writer: number): Promise<void> {
    const value = this.nextValue++
    const at = this.now()
    this.counters.attempted++
    this.counters.inFlight++
    let outcome: PublishOutcome
    let seq: number | undefined
    try {
      const ack = await this.publish(writer, value)
      outcome = 'ack'
      seq = ack.seq
      if (ack.duplicate) this.counters.duplicateAcks++
      this.counters.acknowledged++
    } catch (err) {
      const c = classifyPublishError(err)
      outcome = c.outcome
      this.counters.causes[c.cause] = (this.counters.causes[c.cause] ?? 0) + 1
      if (outcome === 'fail') this.counters.failed++
      else this.counters.indeterminate++
    } finally {
      this.counters.inFlight--
    }
    this.history.publish(writer, value, outcome, seq, at)
  }

  /** stops the writers and waits for the publishes in flight (each bounded by its timeout) */
  async stop(): Promise<void> {
    this.running = false
    await Promise.all(this.loops)
    this.history.flush()
  }
}

/** The probe's metrics from a checker result. */
export function durabilityMetrics(r: DurabilityResult): Metrics {
  return {
    attempted: r.attempted,
    acknowledged: r.acknowledged,
    failed: r.failed,
    indeterminate: r.indeterminate,
    read: r.read,
    lost: r.lost,
    unexpected: r.unexpected,
    duplicated: r.duplicated,
    recovered: r.recovered,
    unknown: r.unknown,
    lostPrefix: r.lostPrefix,
    lostMiddle: r.lostMiddle,
    lostPostfix: r.lostPostfix,
  }
}

/** The stream as it is, when it takes `subject`; `refuse` (given its subjects) is thrown when it does not. */
async function streamTaking(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  refuse: (subjects: string[] | undefined) => Error,
): Promise<{ replicas: number; created: false }> {
  const info = await jsm.streams.info(stream)
  if (!info.config.subjects?.some((s) => subjectMatches(s, subject))) throw refuse(info.config.subjects)
  return { replicas: info.config.num_replicas, created: false }
}

/** The system's stream, as it is: it must exist and take `subject`; nothing is created or changed. */
async function existingStream(jsm: JetStreamManager, p: P, subject: string, deadlineMs: number): Promise<{ replicas: number; created: boolean }> {
  const deadline = performance.now() + deadlineMs
  let lastError: unknown
  while (performance.now() < deadline) {
    try {
      return await streamTaking(
        jsm,
        p.stream,
        subject,
        (subjects) =>
          new GamedayError(`stream ${p.stream} does not take ${subject} (its subjects: ${subjects?.join(', ') || 'none'}); choose a subject under one of them`),
      )
    } catch (err) {
      if (err instanceof GamedayError) throw err
      if (err instanceof JetStreamApiError && err.code === 10059)
        throw new GamedayError(`stream ${p.stream} does not exist; with create: false the probe uses the system's own stream and never creates one`)
      // JetStream still settling (no meta leader yet, a timeout): ask again
      lastError = err
      await sleep(500)
    }
  }
  throw new GamedayError(`could not read stream ${p.stream}: ${(lastError as Error)?.message ?? lastError}`)
}

async function ensureStream(jsm: JetStreamManager, p: P, subject: string, deadlineMs: number): Promise<{ replicas: number; created: boolean }> {
  const deadline = performance.now() + deadlineMs
  let lastError: unknown
  while (performance.now() < deadline) {
    try {
      return await streamTaking(
        jsm,
        p.stream,
        subject,
        (subjects) => new Error(`stream ${p.stream} exists but does not take ${subject} (subjects: ${subjects?.join(', ')}); choose another stream or subject`),
      )
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== 10059) {
        if (!(err instanceof JetStreamApiError) && !(err instanceof TimeoutError) && (err as Error)?.name !== 'JetStreamNotEnabled') throw err
        lastError = err
        await sleep(500)
        continue
      }
    }
    try {
      const info = await jsm.streams.add({ name: p.stream, subjects: [`${p.subject}.>`], num_replicas: p.replicas, storage: 'file' as never })
      return { replicas: info.config.num_replicas, created: true }
    } catch (err) {
      lastError = err
      // e.g. "insufficient resources" while a fresh cluster settles, or a concurrent create
      await sleep(500)
    }
  }
  throw new Error(`could not create or find stream ${p.stream}: ${(lastError as Error)?.message ?? lastError}`)
}

interface DrainReport {
  read: number
  lastSeq: number
  complete: boolean
  unparseable: number
  tookMs: number
  error?: string
}

/** Reads every message of `subject` with a fresh ordered consumer; calls `onValue` for each. */
async function drainSubject(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  timeoutMs: number,
  onValue: (value: number, seq: number) => void,
): Promise<DrainReport> {
  const started = performance.now()
  const info = await jsm.streams.info(stream, { subjects_filter: subject })
  const expected = info.state.subjects?.[subject] ?? 0
  const report: DrainReport = { read: 0, lastSeq: 0, complete: expected === 0, unparseable: 0, tookMs: 0 }
  if (expected === 0) return { ...report, tookMs: performance.now() - started }
  const consumer = await js.consumers.get(stream, { filter_subjects: subject })
  try {
    while (!report.complete && performance.now() - started < timeoutMs) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 2_000 })
      let got = 0
      for await (const m of batch) {
        got++
        report.read++
        report.lastSeq = m.seq
        const value = Number(m.string())
        if (Number.isSafeInteger(value) && value >= 0) onValue(value, m.seq)
        else report.unparseable++
        if (m.info.pending === 0) {
          report.complete = true
          break
        }
      }
      if (got === 0 && report.read >= expected) report.complete = true
    }
  } finally {
    // an ephemeral consumer: the server removes it after its inactivity threshold anyway
    await consumer.delete().catch(() => {})
  }
  return { ...report, tookMs: performance.now() - started }
}

export const jetstreamDurability = defineProbe<P>({
  type: 'jetstream-durability',
  description:
    'publishes unique values to a replicated stream through the method; after recovery, drains it: lost / unexpected / duplicated acknowledged messages',
  params: Params,
  metrics: {
    attempted: { unit: 'count', description: 'publishes attempted' },
    acknowledged: { unit: 'count', description: 'publishes the server acknowledged' },
    failed: { unit: 'count', description: 'publishes refused (certainly not stored)' },
    indeterminate: { unit: 'count', description: 'publishes with no answer (may or may not be stored)' },
    read: { unit: 'count', description: 'values read back after recovery' },
    lost: { unit: 'count', description: 'acknowledged values not read back' },
    unexpected: { unit: 'count', description: 'values read back that were never published or were refused' },
    duplicated: { unit: 'count', description: 'values read back more than once' },
    recovered: { unit: 'count', description: 'indeterminate publishes that were stored' },
    unknown: { unit: 'count', description: 'indeterminate publishes that were not' },
    lostPrefix: { unit: 'count', description: "lost values before a writer's first value read" },
    lostMiddle: { unit: 'count', description: 'lost values between values read' },
    lostPostfix: { unit: 'count', description: "lost values after a writer's last value read" },
    drained: { unit: 'boolean', description: 'the final read was complete' },
    kills: { unit: 'count', description: 'faults injected while publishing' },
    inFlightAtKill: { unit: 'count', description: 'publishes in flight during each kill window (killWindow), summed over the faults' },
    killsWithInFlight: { unit: 'count', description: 'fault injections that met at least one publish in flight' },
  },
  defaultTolerance: ['lost == 0', 'unexpected == 0'],
  async create(ctx: ProbeContext, p: P): Promise<Probe> {
    const token = runToken()
    const subject = `${p.subject}.${token}`
    const timeout = p.timeout
    const historyPath = ctx.artifactPath('durability.history')
    let nc: NatsConnection | undefined
    let history: DurabilityHistoryWriter | undefined
    let recorder: PublishRecorder | undefined
    let streamReplicas = p.replicas
    let created = false
    const faults: HeardFault[] = []
    /** what each injection met: the publishes in flight during its kill window */
    const met = new InFlightWindow(p.killWindow, ctx.now)
    const kills = met.kills
    let unsubscribe = () => {}
    let lastRealSeq = 0
    /** the run clock (ctx.now(), the journal's `t`) when the recorder's clock read 0 */
    let runClockAtOrigin = 0

    const start = async () => {
      unsubscribe = ctx.onFault((e) => {
        faults.push(heardNow(e))
        if (e.kind === 'injected' && recorder) met.injected(e.at, e.type)
      })
      nc = await connectProbe(ctx.env, p.cluster, `gameday-probe-${ctx.name}`)
      const jsm = await jetstreamManager(nc, { timeout: 5_000, checkAPI: false })
      ;({ replicas: streamReplicas, created } = await (p.create ? ensureStream : existingStream)(jsm, p, subject, 60_000))
      const js = jetstream(nc, { timeout })
      history = new DurabilityHistoryWriter(historyPath)
      const publish = async (_writer: number, value: number) => {
        if (p.broken === 'ack-without-store' && value % 5 === 0) return { seq: lastRealSeq } // acknowledged, never published
        const answered = met.begin()
        try {
          const ack = await js.publish(subject, String(value), { msgID: `${token}-${value}`, timeout })
          lastRealSeq = Math.max(lastRealSeq, ack.seq)
          return { seq: ack.seq, duplicate: ack.duplicate }
        } finally {
          answered()
        }
      }
      recorder = new PublishRecorder(history, publish, { writers: p.writers, rate: p.rate })
      runClockAtOrigin = ctx.now() - (performance.now() - recorder.origin.perf)
      history.comment(`stream ${p.stream} subject ${subject} replicas ${streamReplicas}; at = ms since ${new Date(recorder.origin.epoch).toISOString()}`)
      ctx.evidence('durability-start', { stream: p.stream, subject, replicas: streamReplicas, created, history: historyPath })
      recorder.start()
    }

    const stop = async (): Promise<ProbeResult> => {
      if (!recorder || !history || !nc) throw new Error('jetstream-durability was not started')
      await recorder.stop()
      unsubscribe()
      const violations: string[] = []
      const jsm = await jetstreamManager(nc, { timeout: 5_000, checkAPI: false })
      const js = jetstream(nc, { timeout: 5_000 })
      const standalone = ctx.env.topology().clusters[p.cluster]?.nodes.length === 1
      let leader: string | undefined
      const recovery = await waitForRecovery(ctx.env, p.cluster, p.recoveryTimeout, async () => {
        const info = await jsm.streams.info(p.stream)
        leader = info.cluster?.leader ?? (standalone ? 'standalone' : undefined)
        return leader ? undefined : `stream ${p.stream} has no leader`
      })
      let drain: DrainReport | undefined
      const rechecked = { asked: 0, found: 0 }
      // The cluster did not heal in time: if the stream still has a leader, read through it anyway
      // (what the leader serves is what clients get), and say the cluster did not heal.
      let canRead = recovery.ok
      if (!recovery.ok) {
        // no answer means no stream leader yet: the read is not attempted and the verdict says so
        const info = await jsm.streams.info(p.stream).catch(() => undefined)
        leader = info?.cluster?.leader ?? (info && standalone ? 'standalone' : undefined)
        canRead = leader !== undefined
        violations.push(
          canRead
            ? `the cluster was not healthy ${Math.round(recovery.waitedMs / 1000)}s after the rollback (${recovery.missing}); read through the stream leader ${leader} anyway`
            : `no final read: ${Math.round(recovery.waitedMs / 1000)}s after the rollback the stream had no leader (${recovery.missing}); durability unknown`,
        )
      }
      if (canRead) {
        try {
          drain = await drainSubject(js, jsm, p.stream, subject, p.drainTimeout, (value, seq) => history!.read(value, seq))
          if (!drain.complete)
            violations.push(`final read incomplete: ${drain.read} messages read in ${Math.round(drain.tookMs)}ms, the consumer still had more`)
        } catch (err) {
          violations.push(`final read failed: ${(err as Error).message}`)
        }
      }
      history.flush()
      // An acked value the drain did not see: ask the stream leader for its sequence directly
      // (STREAM.MSG.GET is answered by the leader), so "lost" never rests on one consumer's view.
      if (drain) {
        const first = readDurabilityFile(historyPath).check({ firstN: 1000 })
        for (const l of first.firstLost) {
          if (!Number.isFinite(l.seq) || l.seq <= 0) continue
          rechecked.asked++
          // a failed re-read leaves the value counted as lost: the conservative answer
          const m = await jsm.streams.getMessage(p.stream, { seq: l.seq }).catch(() => null)
          if (m && m.subject === subject && Number(m.string()) === l.value) {
            rechecked.found++
            history.read(l.value, l.seq)
          }
        }
        if (rechecked.found) history.comment(`${rechecked.found} value(s) missed by the drain were found by sequence through the stream leader`)
      }
      history.close()
      const result = readDurabilityFile(historyPath).check({ firstN: p.firstLost })
      const c = recorder.counters
      const origin = recorder.origin
      const at = (ms: number) => (Number.isFinite(ms) ? wallClock(origin, origin.perf + ms) : null)
      const details: Json = {
        history: historyPath,
        stream: { name: p.stream, subject, replicas: streamReplicas, created, leaderAtRead: leader ?? null },
        recovery: { ok: recovery.ok, waitedMs: Math.round(recovery.waitedMs), ...(recovery.missing && !recovery.ok ? { missing: recovery.missing } : {}) },
        drain: drain ? { read: drain.read, complete: drain.complete, tookMs: Math.round(drain.tookMs), unparseable: drain.unparseable } : null,
        recheckedThroughLeader: rechecked,
        publishErrors: c.causes,
        duplicateAcks: c.duplicateAcks,
        // without a complete read these are only "not read", not known lost
        [drain?.complete ? 'firstLost' : 'firstNotRead']: result.firstLost.map((l) => ({
          writer: l.writer,
          value: l.value,
          seq: Number.isFinite(l.seq) ? l.seq : null,
          publishedAt: at(l.at),
          t: Number.isFinite(l.at) ? Math.round((runClockAtOrigin + l.at) / 100) / 10 : null,
        })),
        firstUnexpected: result.firstUnexpected.map((u) => ({ value: u.value, seq: Number.isFinite(u.seq) ? u.seq : null })),
        writers: result.writers.filter((w) => w.lost > 0).map((w) => ({ ...w })),
        faultTimeline: faultTimeline(faults),
        ...(p.broken ? { broken: p.broken } : {}),
      }
      if (result.lost > 0 && drain?.complete) ctx.evidence('durability-lost', { lost: result.lost, first: (details as { firstLost: Json }).firstLost })
      if (p.purge) {
        // only this run's subject: the rest of the stream is the system's
        const purged = await jsm.streams.purge(p.stream, { filter: subject }).catch((err: Error) => ({ error: err.message }))
        ;(details as Record<string, Json>).purged = 'error' in purged ? { error: purged.error } : { subject, messages: purged.purged }
      }
      const metrics = durabilityMetrics(result)
      // without a complete final read, what was read and lost is unknown: NaN fails any tolerance on it
      if (drain?.complete !== true)
        for (const k of ['read', 'lost', 'unexpected', 'duplicated', 'recovered', 'unknown', 'lostPrefix', 'lostMiddle', 'lostPostfix']) metrics[k] = NaN
      const inFlightAtKill = kills.reduce((sum, k) => sum + k.inFlight, 0)
      ;(details as Record<string, Json>).inFlightAtEachKill = kills.map((k) => ({ t: Math.round(k.t / 100) / 10, type: k.type, inFlight: k.inFlight }))
      if (kills.length)
        ctx.evidence('in-flight-at-kills', {
          summary: `publishes in flight during each of the ${kills.length} kill(s) (${p.killWindow} ms window): ${kills.map((k) => k.inFlight).join(', ')}`,
          kills: kills.map((k) => ({ t: Math.round(k.t), type: k.type, inFlight: k.inFlight })),
        })
      const inconclusive =
        kills.length > 0 && inFlightAtKill === 0
          ? [`no publish was in flight at any of the ${kills.length} fault injection(s): no acknowledgement was put at risk`]
          : []
      return {
        metrics: {
          ...metrics,
          drained: drain?.complete === true,
          kills: kills.length,
          inFlightAtKill,
          killsWithInFlight: kills.filter((k) => k.inFlight > 0).length,
        },
        details,
        violations,
        inconclusive,
      }
    }

    return {
      start,
      stop,
      snapshot: (): Metrics => {
        if (!recorder) return {}
        const c = recorder.counters
        return { attempted: c.attempted, acknowledged: c.acknowledged, failed: c.failed, indeterminate: c.indeterminate }
      },
      async close() {
        unsubscribe()
        // close() after stop(): the history is already written; stopping twice changes nothing
        await releaseAll(
          () => recorder?.stop(),
          () => history?.close(),
          () => nc?.close(),
        )
      },
    }
  },
})
