import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { casCorrectness } from './cas-correctness.ts'
import { brokenStore, natsStoreError, redisStoreError, StoreError, type CasStore, type Versioned } from './cas/stores.ts'
import { CasHistoryWriter, CasWorkload, COUNTER_KEY, counterInvariant } from './cas/workload.ts'
import { ContentionRounds } from './cas/contention.ts'
import { casRegisterPerKey, checkOperations, parseHistory } from '../../src/checkers/index.ts'
import { createRng, type Rng } from '../../src/util/rng.ts'
import { sleep } from '../../src/util/abort.ts'
import { TimeoutError } from '@nats-io/transport-node'
import { JetStreamApiError } from '@nats-io/jetstream'
import { probeContext, singleNodeEnv, startMonitoredNats, type MonitoredNats } from '../../test/correctness/support.ts'
import { startRedisServer, type TestServer } from '../../test/support/servers.ts'
import { spawnTask, type Task } from '../../target/testing/tasks.ts'

/**
 * An in-memory store that is linearizable by construction: each operation takes effect at one
 * instant between its invocation and its answer (random delays either side, seeded). `lose`
 * scripts indeterminate outcomes: the operation applies (or not) and then "times out".
 */
class MemoryStore implements CasStore {
  readonly kind = 'memory'
  readonly describe = { store: 'memory' }
  readonly data = new Map<string, Versioned>()
  private version = 0
  constructor(
    private readonly rng: Rng,
    private readonly timeouts: { applied: number; notApplied: number } = { applied: 0, notApplied: 0 },
    /** a user's bug: cas reads the version, awaits, then writes (a race window of ~1 ms) */
    private readonly nonAtomic = false,
  ) {}
  private async around<T>(apply: () => T): Promise<T> {
    await sleep(this.rng.int(3))
    const r = this.rng.next()
    if (r < this.timeouts.notApplied) {
      await sleep(this.rng.int(3))
      throw new StoreError('timed out', false, 'timeout')
    }
    const result = apply()
    await sleep(this.rng.int(3))
    if (r < this.timeouts.notApplied + this.timeouts.applied) throw new StoreError('timed out', false, 'timeout')
    return result
  }
  read(key: string) {
    return this.around(() => this.data.get(key) ?? { value: null, version: 0 })
  }
  write(key: string, value: number) {
    return this.around(() => {
      this.data.set(key, { value, version: ++this.version })
      return { version: this.version }
    })
  }
  async cas(key: string, expected: Versioned, to: number) {
    if (this.nonAtomic) {
      const current = this.data.get(key)?.version ?? 0
      await sleep(1)
      if (current !== expected.version) return { ok: false as const }
      this.data.set(key, { value: to, version: ++this.version })
      return { ok: true as const, version: this.version }
    }
    return this.around(() => {
      if ((this.data.get(key)?.version ?? 0) !== expected.version) return { ok: false as const }
      this.data.set(key, { value: to, version: ++this.version })
      return { ok: true as const, version: this.version }
    })
  }
  async ready() {
    return undefined
  }
  async close() {}
}

async function runWorkload(store: CasStore, seed: number, ms = 600, rate = 1000) {
  const ctx = probeContext(singleNodeEnv({} as MonitoredNats))
  const path = ctx.artifactPath('cas.history.jsonl')
  const history = new CasHistoryWriter(path)
  const workload = new CasWorkload(store, history, {
    keys: ['k0', 'k1'],
    counter: true,
    clients: 5,
    rate,
    mix: { read: 0.45, write: 0.1, cas: 0.45 },
    maxInFlightPerKey: 2,
    rng: createRng(seed),
  })
  workload.start()
  await sleep(ms)
  await workload.stop()
  const final = await workload.finalRead(performance.now() + 2_000)
  history.close()
  const text = readFileSync(path, 'utf8')
  const check = await checkOperations(casRegisterPerKey, parseHistory(text, path), { budgetMs: 10_000 })
  ctx.cleanup()
  return { workload, final, text, check }
}

async function runContention(store: CasStore, seed: number, ms = 600) {
  const ctx = probeContext(singleNodeEnv({} as MonitoredNats))
  const path = ctx.artifactPath('cas.history.jsonl')
  const history = new CasHistoryWriter(path)
  const workload = new CasWorkload(store, history, {
    keys: ['k0', 'k1'],
    counter: true,
    clients: 1,
    rate: 1,
    mix: { read: 1, write: 0, cas: 1 },
    maxInFlightPerKey: 1,
    rng: createRng(seed),
  })
  const rounds = new ContentionRounds(workload, { contenders: 6, rate: 200, keys: ['k0', 'k1'], counter: true })
  workload.startWith(() => rounds.loops())
  await sleep(ms)
  await workload.stop()
  const final = await workload.finalRead(performance.now() + 10_000)
  history.close()
  const check = await checkOperations(casRegisterPerKey, parseHistory(readFileSync(path, 'utf8'), path), { budgetMs: 10_000 })
  ctx.cleanup()
  return { workload, rounds, final, check }
}

describe('cas-correctness: contention rounds (in-memory stores)', () => {
  it('a linearizable store: every round contended, exactly one winner, the counter counts every acknowledged increment', async () => {
    const { rounds, workload, final, check } = await runContention(new MemoryStore(createRng(21)), 21)
    expect(rounds.stats.rounds).toBeGreaterThan(20)
    expect(rounds.stats.contendedRounds).toBe(rounds.stats.rounds)
    expect(rounds.stats.severalWinners).toBe(0)
    expect(workload.counters.contendedCas).toBeGreaterThan(5 * rounds.stats.rounds)
    expect(check.verdict).toBe('linearizable')
    expect(workload.counterValue(final.values)).toBe(workload.counters.counterAcked)
  })

  it('timeouts: a key that gathers a round of unknown outcomes is retired for a fresh one, the counter is summed over its keys, and the history stays linearizable', async () => {
    const { rounds, workload, final, check } = await runContention(new MemoryStore(createRng(23), { applied: 0.15, notApplied: 0.15 }), 23, 800)
    expect(rounds.stats.keysRetired).toBeGreaterThan(0)
    expect(workload.allKeys.some((k) => /^(k\d|counter)-g\d+$/.test(k))).toBe(true)
    expect(workload.counterKeys.length).toBeGreaterThan(1)
    expect(Object.keys(final.values).sort()).toEqual([...workload.allKeys].sort())
    expect(check.verdict).toBe('linearizable')
    const inv = counterInvariant(workload.counterValue(final.values), workload.counters.counterAcked, workload.counters.counterIndeterminate)
    expect(inv).toEqual({ lostUpdates: 0, phantomIncrements: 0 })
  })

  it('a non-atomic compare-and-set is caught in the first rounds; the same store under a random mix rarely shows it', async () => {
    const contention = await runContention(new MemoryStore(createRng(25), undefined, true), 25, 300)
    expect(contention.check.verdict).toBe('not-linearizable')
    expect(contention.rounds.stats.firstSeveralWinners!.round).toBeLessThanOrEqual(3)
    expect(contention.workload.sameVersionCas.length).toBeGreaterThan(0)
    const mixed = await runWorkload(new MemoryStore(createRng(25), undefined, true), 25, 300, 60)
    expect(mixed.workload.counters.contendedCas).toBeLessThan(0.1 * mixed.workload.counters.ops)
  })
})

describe('cas-correctness: the workload and its history (in-memory stores, seeded)', () => {
  it('a linearizable store: every invocation completed once, the checker says linearizable, no lost update', async () => {
    const { workload, final, text, check } = await runWorkload(new MemoryStore(createRng(7)), 7)
    const events = text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
    const invokes = events.filter((e) => e.type === 'invoke')
    expect(invokes.length).toBe(workload.counters.ops)
    expect(invokes.length).toBeGreaterThan(100)
    expect(events.length).toBe(2 * invokes.length) // every invocation has its completion
    // times never go backwards; a process has one invocation open at a time
    const open = new Set<number>()
    let last = -1
    for (const e of events) {
      expect(e.time).toBeGreaterThanOrEqual(last)
      last = e.time
      if (e.type === 'invoke') {
        expect(open.has(e.process)).toBe(false)
        open.add(e.process)
      } else open.delete(e.process)
    }
    expect(new Set(invokes.map((e) => e.f))).toEqual(new Set(['read', 'write', 'cas']))
    expect(workload.counters.counterAcked).toBeGreaterThan(5)
    expect(check.verdict).toBe('linearizable')
    expect(final.values[COUNTER_KEY]).toBe(workload.counters.counterAcked)
    expect(counterInvariant(final.values[COUNTER_KEY], workload.counters.counterAcked, 0)).toEqual({ lostUpdates: 0, phantomIncrements: 0 })
  })

  it('timeouts are recorded as info (never fail), the client takes a new process id, and the history stays linearizable', async () => {
    const { workload, text, check, final } = await runWorkload(new MemoryStore(createRng(11), { applied: 0.1, notApplied: 0.1 }), 11)
    const events = text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
    const infos = events.filter((e) => e.type === 'info')
    expect(infos.length).toBe(workload.counters.indeterminate)
    expect(infos.length).toBeGreaterThan(10)
    expect(infos.every((e) => e.error === 'timeout')).toBe(true)
    // no fail for a timeout: fails are only compare failures here
    expect(events.filter((e) => e.type === 'fail').every((e) => e.f === 'cas' && !e.error)).toBe(true)
    // a process that timed out never invokes again
    for (const info of infos) {
      const later = events.filter((e) => e.process === info.process && e.time > info.time && e.type === 'invoke')
      expect(later).toEqual([])
    }
    expect(check.verdict).toBe('linearizable')
    const inv = counterInvariant(final.values[COUNTER_KEY], workload.counters.counterAcked, workload.counters.counterIndeterminate)
    expect(inv).toEqual({ lostUpdates: 0, phantomIncrements: 0 })
  })

  it('a broken adapter that skips the compare is caught: not linearizable, with lost updates on the counter', async () => {
    const { check, workload, final } = await runWorkload(brokenStore(new MemoryStore(createRng(3)), 'skip-compare'), 3)
    expect(check.verdict).toBe('not-linearizable')
    expect(check.counterexample).toBeDefined()
    expect(counterInvariant(final.values[COUNTER_KEY], workload.counters.counterAcked, 0).lostUpdates).toBeGreaterThan(0)
  })

  it('a broken adapter that acknowledges without storing is caught', async () => {
    const { check, workload, final } = await runWorkload(brokenStore(new MemoryStore(createRng(5)), 'ack-without-store'), 5)
    expect(check.verdict).toBe('not-linearizable')
    expect(counterInvariant(final.values[COUNTER_KEY], workload.counters.counterAcked, 0).lostUpdates).toBeGreaterThan(0)
  })

  it('classifies store errors: definite refusals versus unknown outcomes', () => {
    expect(natsStoreError(new TimeoutError())).toMatchObject({ definite: false, errorClass: 'timeout' })
    expect(natsStoreError(new JetStreamApiError({ code: 503, err_code: 10008, description: 'unavailable' }))).toMatchObject({
      definite: true,
      errorClass: 'api-10008',
    })
    expect(natsStoreError(Object.assign(new Error('jetstream is not enabled'), { name: 'JetStreamNotEnabled' }))).toMatchObject({
      definite: true,
      errorClass: 'no-responders',
    })
    expect(redisStoreError(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toMatchObject({
      definite: true,
      errorClass: 'not-sent',
    })
    expect(redisStoreError(new Error('Command timed out'))).toMatchObject({ definite: false, errorClass: 'timeout' })
    expect(redisStoreError(new Error('Connection is closed.'))).toMatchObject({ definite: false, errorClass: 'connection-closed' })
    expect(redisStoreError(Object.assign(new Error('LOADING Redis is loading'), { name: 'ReplyError' }))).toMatchObject({
      definite: true,
      errorClass: 'redis-LOADING',
    })
  })
})

describe('cas-correctness against real servers', () => {
  let nats: MonitoredNats
  let redis: TestServer
  beforeAll(async () => {
    ;[nats, redis] = await Promise.all([startMonitoredNats(), startRedisServer()])
  })
  afterAll(async () => {
    await Promise.all([nats?.stop(), redis?.stop()])
  })

  const run = async (params: Record<string, unknown>, during: () => Promise<void> = () => sleep(1_200)) => {
    const ctx = probeContext(singleNodeEnv(nats, redis), 'cas', 42)
    const probe = await casCorrectness.create(ctx, casCorrectness.params.parse({ replicas: 1, rate: 200, clients: 5, recoveryTimeout: '20s', ...params }))
    try {
      await probe.start!()
      await during()
      return { result: await probe.stop!(), ctx }
    } finally {
      await probe.close?.()
      ctx.cleanup()
    }
  }

  it.each(['nats-kv', 'redis'])('%s: linearizable, no lost update', async (store) => {
    const { result } = await run({ store })
    expect(result.violations).toEqual([])
    expect(result.metrics).toMatchObject({ linearizable: true, verdict: 'linearizable', lostUpdates: 0, indeterminate: 0, sameVersionCas: 0 })
    expect(result.metrics.ops).toBeGreaterThan(100)
    expect(result.metrics.counterFinal).toBe(result.metrics.counterAcked)
  })

  it.each([
    ['nats-kv', 'skip-compare'],
    ['nats-kv', 'ack-without-store'],
    ['redis', 'skip-compare'],
    ['redis', 'ack-without-store'],
  ])('%s with a broken adapter (%s) is caught: not linearizable, lost updates, a readable counterexample', async (store, broken) => {
    const { result } = await run({ store, broken })
    expect(result.metrics).toMatchObject({ linearizable: false, verdict: 'not linearizable' })
    expect(result.metrics.lostUpdates).toBeGreaterThan(0)
    if (broken === 'skip-compare') expect(result.metrics.sameVersionCas).toBeGreaterThan(0)
    const details = result.details as { counterexample: string[]; storedRevisions?: { key: string; revisions: { version: number }[] } }
    expect(details.counterexample[0]).toMatch(/^counterexample \(key "(k\d|counter)"\)/)
    // KV keeps a few revisions per key: the report shows what the store holds for the bad key
    if (store === 'nats-kv') expect(details.storedRevisions!.revisions.length).toBeGreaterThan(0)
    expect(details.counterexample.some((l) => l.includes('✗'))).toBe(true)
  })

  it('redis frozen mid-run: operations time out as indeterminate, and the verdict stays linearizable', async () => {
    const { result } = await run({ store: 'redis', timeout: '200ms' }, async () => {
      await sleep(300)
      redis.process.kill('SIGSTOP')
      try {
        await sleep(1_000)
      } finally {
        redis.process.kill('SIGCONT')
      }
      await sleep(500)
    })
    expect(result.metrics.indeterminate).toBeGreaterThan(0)
    expect(result.metrics).toMatchObject({ linearizable: true, lostUpdates: 0 })
    expect(result.violations).toEqual([])
  })

  it.each([
    ['as built', '', 'linearizable'],
    ['GAMEDAY_BROKEN=skip-cas', 'skip-cas', 'not linearizable'],
    ['GAMEDAY_BROKEN=ack-without-store', 'ack-without-store', 'not linearizable'],
  ])('the player-state service (its own CAS path over KV), %s: %s', async (_what, broken, verdict) => {
    const task: Task = await spawnTask('player-state', { NATS_URL: nats.url, REDIS_URL: redis.url, ...(broken ? { GAMEDAY_BROKEN: broken } : {}) })
    try {
      const { result } = await run({ store: 'player-state', rate: 100 })
      expect(result.metrics.verdict, JSON.stringify(result.details)).toBe(verdict)
      expect(result.metrics.ok).toBeGreaterThan(50)
      if (broken) expect(result.metrics.lostUpdates).toBeGreaterThan(0)
      else expect(result.metrics).toMatchObject({ lostUpdates: 0, indeterminate: 0 })
    } finally {
      await task.kill()
    }
  })

  it('refuses a KV bucket with direct gets on (any replica could answer a read, stale)', async () => {
    const nc = await connect({ servers: nats.url })
    try {
      const jsm = await jetstreamManager(nc)
      await jsm.streams.add({
        name: 'KV_direct-on',
        subjects: ['$KV.direct-on.>'],
        allow_direct: true,
        max_msgs_per_subject: 1,
        allow_rollup_hdrs: true,
        deny_delete: true,
      } as never)
      const ctx = probeContext(singleNodeEnv(nats, redis), 'cas')
      const probe = await casCorrectness.create(ctx, casCorrectness.params.parse({ store: 'nats-kv', bucket: 'direct-on', replicas: 1 }))
      await expect(probe.start!()).rejects.toThrow(/allow_direct: true/)
      await probe.close?.()
      ctx.cleanup()
    } finally {
      await nc.close()
    }
  })
})
