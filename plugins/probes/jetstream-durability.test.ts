import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { ClosedConnectionError, RequestError, TimeoutError, connect } from '@nats-io/transport-node'
import { classifyPublishError, jetstreamDurability, PublishRecorder, subjectMatches } from './jetstream-durability.ts'
import { DurabilityHistoryWriter, readDurabilityFile } from '../../src/checkers/index.ts'
import { createRng } from '../../src/util/rng.ts'
import { sleep } from '../../src/util/abort.ts'
import { probeContext, singleNodeEnv, startMonitoredNats, type MonitoredNats } from '../../test/correctness/support.ts'

describe('jetstream-durability: classifying a publish that got no ack', () => {
  it.each<[string, unknown, string, string]>([
    ['a timeout', new TimeoutError(), 'info', 'timeout'],
    [
      'an API error (the stream refused it)',
      new JetStreamApiError({ code: 503, err_code: 10008, description: 'jetstream temporarily unavailable' }),
      'fail',
      'api-10008',
    ],
    ['no responders (no stream leader)', Object.assign(new Error('jetstream is not enabled'), { name: 'JetStreamNotEnabled' }), 'fail', 'no-responders'],
    ['no responders as a request error', new RequestError('503', { cause: new Error('no responders') }), 'info', 'RequestError'],
    ['a closed client (never sent)', new ClosedConnectionError(), 'fail', 'client-closed'],
    ['anything else (the connection dropped mid-flight)', new Error('disconnected'), 'info', 'Error'],
  ])('%s → %s', (_what, err, outcome, cause) => {
    // a RequestError only means "no responders" when it says so
    expect(classifyPublishError(err)).toEqual({ outcome, cause })
  })

  it('matches stream subjects with wildcards', () => {
    expect(subjectMatches('gameday.durability.>', 'gameday.durability.abc')).toBe(true)
    expect(subjectMatches('gameday.*.abc', 'gameday.durability.abc')).toBe(true)
    expect(subjectMatches('gameday.durability.>', 'gameday.durability')).toBe(false)
    expect(subjectMatches('gameday.durability', 'gameday.durability.x')).toBe(false)
  })
})

describe('jetstream-durability: recording publishes (scripted outcomes, seeded)', () => {
  it('records every publish once, a timeout as indeterminate, and the checker sees each category', async () => {
    const ctx = probeContext(singleNodeEnv({} as MonitoredNats))
    try {
      const path = ctx.artifactPath('durability.history')
      const writer = new DurabilityHistoryWriter(path)
      const rng = createRng(42)
      const stored = new Map<number, number>() // value → seq
      let seq = 0
      const script: string[] = []
      const kindOf = new Map<number, string>()
      const recorder = new PublishRecorder(
        writer,
        async (_w, value) => {
          const r = rng.next()
          kindOf.set(value, r < 0.6 ? 'ack' : r < 0.75 ? 'timeout-stored' : r < 0.9 ? 'timeout-lost' : 'refused')
          if (r < 0.6) {
            stored.set(value, ++seq)
            script.push('ack')
            return { seq }
          }
          if (r < 0.75) {
            script.push('timeout-stored') // stored, but the ack never came
            stored.set(value, ++seq)
            throw new TimeoutError()
          }
          if (r < 0.9) {
            script.push('timeout-lost')
            throw new TimeoutError()
          }
          script.push('refused')
          throw new JetStreamApiError({ code: 503, err_code: 10008, description: 'unavailable' })
        },
        { writers: 3, rate: 1000 },
      )
      for (let i = 0; i < 300; i++) await recorder.publishOne(i % 3)
      await recorder.stop()
      // the drain: everything stored, except one acknowledged value (a loss) and plus one stranger
      const victim = [...kindOf.entries()].filter(([, k]) => k === 'ack')[10][0]
      for (const [value, s] of stored) if (value !== victim) writer.read(value, s)
      writer.read(999_999, 10_000)
      writer.close()
      const count = (k: string) => script.filter((s) => s === k).length
      const r = readDurabilityFile(path).check()
      expect(r.attempted).toBe(300)
      expect(r.acknowledged).toBe(count('ack'))
      expect(r.failed).toBe(count('refused'))
      expect(r.indeterminate).toBe(count('timeout-stored') + count('timeout-lost'))
      expect(r.recovered).toBe(count('timeout-stored'))
      expect(r.unknown).toBe(count('timeout-lost'))
      expect(r.lost).toBe(1)
      expect(r.lostMiddle).toBe(1)
      expect(r.firstLost[0].value).toBe(victim)
      expect(r.unexpected).toBe(1)
      expect(recorder.counters).toMatchObject({ attempted: 300, acknowledged: count('ack'), failed: count('refused'), inFlight: 0 })
      // the file is the format the CLI checks
      expect(readFileSync(path, 'utf8').split('\n')[0]).toBe('# gameday durability history v1')
    } finally {
      ctx.cleanup()
    }
  })
})

describe('jetstream-durability against a real nats-server', () => {
  let nats: MonitoredNats
  beforeAll(async () => {
    nats = await startMonitoredNats()
  })
  afterAll(async () => {
    await nats?.stop()
  })

  const run = async (params: Record<string, unknown>, during: (ctx: ReturnType<typeof probeContext>) => Promise<void>) => {
    const ctx = probeContext(singleNodeEnv(nats), 'durability')
    const probe = await jetstreamDurability.create(
      ctx,
      jetstreamDurability.params.parse({ replicas: 1, rate: 200, writers: 3, recoveryTimeout: '20s', ...params }),
    )
    try {
      await probe.start!()
      await during(ctx)
      const result = await probe.stop!()
      return { result, ctx }
    } finally {
      await probe.close?.()
    }
  }

  it('a healthy stream: every acknowledged value is read back, nothing lost', async () => {
    const { result, ctx } = await run({}, async () => sleep(1_000))
    try {
      expect(result.violations).toEqual([])
      expect(result.metrics).toMatchObject({ lost: 0, unexpected: 0, failed: 0, indeterminate: 0, drained: true })
      expect(result.metrics.acknowledged).toBeGreaterThan(50)
      expect(result.metrics.read).toBe(result.metrics.acknowledged)
      expect(ctx.evidences.map((e) => e.kind)).toContain('durability-start')
    } finally {
      ctx.cleanup()
    }
  })

  it('a deliberately broken publisher (ack without store) is caught: lost > 0, with publish times', async () => {
    const { result, ctx } = await run({ broken: 'ack-without-store' }, async (c) => {
      c.emitFault({ kind: 'injected', faultId: 'f1', type: 'nats.kill-node' })
      await sleep(600)
    })
    try {
      expect(result.metrics.lost).toBeGreaterThan(0)
      expect(result.metrics.lost).toBe(Math.floor((result.metrics.attempted as number) / 5))
      const details = result.details as { firstLost: { value: number; publishedAt: string }[]; faultTimeline: unknown[] }
      expect(details.firstLost[0].value % 5).toBe(0)
      expect(Date.parse(details.firstLost[0].publishedAt)).toBeGreaterThan(Date.now() - 60_000)
      expect(details.faultTimeline).toHaveLength(1)
      expect(ctx.evidences.map((e) => e.kind)).toContain('durability-lost')
    } finally {
      ctx.cleanup()
    }
  })

  it('publishes that time out while the server is frozen are indeterminate, never failed; the stream loses nothing', async () => {
    const { result, ctx } = await run({ timeout: '300ms', rate: 100 }, async (c) => {
      await sleep(300)
      nats.pause()
      try {
        await sleep(1_500)
      } finally {
        nats.resume()
      }
      await sleep(700)
      void c
    })
    try {
      expect(result.metrics.indeterminate).toBeGreaterThan(0)
      expect(result.metrics.failed).toBe(0)
      expect((result.metrics.recovered as number) + (result.metrics.unknown as number)).toBe(result.metrics.indeterminate)
      expect(result.metrics).toMatchObject({ lost: 0, unexpected: 0, drained: true })
    } finally {
      ctx.cleanup()
    }
  })
})

describe("jetstream-durability on the system's own stream (create: false)", () => {
  let nats: MonitoredNats
  beforeAll(async () => {
    nats = await startMonitoredNats()
  })
  afterAll(async () => {
    await nats?.stop()
  })

  /** The system's stream, made the way a system would, with one message of its own. */
  async function systemStream(name: string) {
    const nc = await connect({ servers: nats.url })
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.>`], duplicate_window: 60_000_000_000 })
    await jetstream(nc).publish(`${name.toLowerCase()}.player.p1.state-updated`, 'the system’s own event')
    const config = (await jsm.streams.info(name)).config
    return { nc, jsm, config }
  }

  const create = (ctx: ReturnType<typeof probeContext>, params: Record<string, unknown>) =>
    jetstreamDurability.create(ctx, jetstreamDurability.params.parse({ rate: 100, writers: 2, recoveryTimeout: '10s', create: false, ...params }))

  it('publishes under a subject of the stream and reads it back, leaving the stream as it was; purge removes only its own messages', async () => {
    const { nc, jsm, config } = await systemStream('SYSEVENTS')
    const ctx = probeContext(singleNodeEnv(nats), 'durability')
    const probe = await create(ctx, { stream: 'SYSEVENTS', subject: 'sysevents.gameday', purge: true })
    try {
      await probe.start!()
      await sleep(800)
      const r = await probe.stop!()
      expect(r.metrics).toMatchObject({ lost: 0, unexpected: 0, drained: true, kills: 0, inFlightAtKill: 0 })
      expect(r.metrics.acknowledged).toBeGreaterThan(30)
      expect(r.inconclusive).toEqual([])
      const details = r.details as { stream: { created: boolean; subject: string }; purged: { messages: number } }
      expect(details.stream.created).toBe(false)
      expect(details.stream.subject).toMatch(/^sysevents\.gameday\.\w+$/)
      expect(details.purged.messages).toBe(r.metrics.acknowledged)
      const after = await jsm.streams.info('SYSEVENTS')
      expect(after.config).toEqual(config)
      expect(after.state.messages).toBe(1) // the system's own event, and nothing of the probe's
    } finally {
      await probe.close?.()
      ctx.cleanup()
      await nc.close()
    }
  })

  it('refuses, with the next step, a stream that does not exist or does not take the subject — and creates nothing', async () => {
    const { nc, jsm } = await systemStream('OTHER')
    const ctx = probeContext(singleNodeEnv(nats), 'durability')
    try {
      const missing = await create(ctx, { stream: 'NOPE', subject: 'nope.gameday' })
      await expect(missing.start!()).rejects.toThrow(/stream NOPE does not exist; with create: false the probe uses the system's own stream/)
      await missing.close?.()
      const elsewhere = await create(ctx, { stream: 'OTHER', subject: 'elsewhere.gameday' })
      await expect(elsewhere.start!()).rejects.toThrow(
        /stream OTHER does not take elsewhere\.gameday\.\w+ \(its subjects: other\.>\); choose a subject under one of them/,
      )
      await elsewhere.close?.()
      expect((await jsm.streams.names().next()).sort()).not.toContain('NOPE')
    } finally {
      ctx.cleanup()
      await nc.close()
    }
  })

  it('counts publishes in flight at each fault injection: some when the server is frozen, none at an idle instant (inconclusive)', async () => {
    const { nc } = await systemStream('KILLS')
    const frozen = probeContext(singleNodeEnv(nats), 'durability')
    const probe = await create(frozen, { stream: 'KILLS', subject: 'kills.frozen', timeout: '1s', writers: 3 })
    try {
      await probe.start!()
      await sleep(300)
      nats.pause()
      try {
        await sleep(300) // every writer's publish now waits for its ack
        frozen.emitFault({ kind: 'injected', faultId: 'f1', type: 'nats.pause-node' })
      } finally {
        nats.resume()
      }
      frozen.emitFault({ kind: 'reverted', faultId: 'f1', type: 'nats.pause-node' })
      await sleep(300)
      const r = await probe.stop!()
      expect(r.metrics).toMatchObject({ kills: 1, inFlightAtKill: 3, killsWithInFlight: 1, lost: 0 })
      expect(r.inconclusive).toEqual([])
      expect((r.details as { inFlightAtEachKill: unknown[] }).inFlightAtEachKill).toEqual([{ t: expect.any(Number), type: 'nats.pause-node', inFlight: 3 }])
    } finally {
      await probe.close?.()
      frozen.cleanup()
    }
    // one publish a second: half a second after one, nothing is in flight
    const idle = probeContext(singleNodeEnv(nats), 'durability')
    const slow = await create(idle, { stream: 'KILLS', subject: 'kills.idle', rate: 1, writers: 1 })
    try {
      await slow.start!()
      await sleep(500)
      idle.emitFault({ kind: 'injected', faultId: 'f1', type: 'nats.kill-node' })
      idle.emitFault({ kind: 'reverted', faultId: 'f1', type: 'nats.kill-node' })
      const r = await slow.stop!()
      expect(r.metrics).toMatchObject({ kills: 1, inFlightAtKill: 0, killsWithInFlight: 0, lost: 0 })
      expect(r.inconclusive).toEqual(['no publish was in flight at any of the 1 fault injection(s): no acknowledgement was put at risk'])
    } finally {
      await slow.close?.()
      idle.cleanup()
      await nc.close()
    }
  })
})
