import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { auditStream, selectStreams, streamConfig, type StreamFacts } from './stream-config.ts'
import { probeContext, singleNodeEnv, startMonitoredNats, type MonitoredNats } from '../../test/correctness/support.ts'

const AZ: Record<string, string> = { n1: 'az-a', n2: 'az-a', n3: 'az-b', n4: 'az-b', n5: 'az-c' }
const azOf = (server: string) => AZ[server]
const facts = (over: Partial<StreamFacts['config']>, peers?: string[]): StreamFacts => ({
  name: 'EVENTS',
  config: {
    num_replicas: 3,
    storage: 'file' as never,
    duplicate_window: 120_000_000_000,
    discard: 'old' as never,
    max_age: 0,
    max_bytes: -1,
    max_msgs: -1,
    max_msgs_per_subject: -1,
    ...over,
  },
  ...(peers ? { peers } : {}),
})

describe('stream-config: the audit of one stream', () => {
  const policy = { replicas: 3, survivesAzLoss: true, minAzs: 3, storage: 'file' as const, duplicateWindow: 120_000, limits: { bounded: true } }

  it('a stream as the policy wants it: no finding', () => {
    expect(auditStream(facts({ max_bytes: 1 << 30 }), { replicas: 3, storage: 'file', duplicateWindow: 120_000, limits: { bounded: true } }, azOf)).toEqual([])
    expect(auditStream(facts({}, ['n1', 'n3', 'n5']), { survivesAzLoss: true, minAzs: 3 }, azOf)).toEqual([])
  })

  it('one replica: too few, and the AZ that holds it loses everything', () => {
    const findings = auditStream(facts({ num_replicas: 1, memory: undefined } as never, ['n2']), policy, azOf)
    expect(findings.map((f) => `${f.rule}: ${f.has}`)).toEqual([
      'replicas: 1',
      'minAzs: az-a: 1',
      'survivesAzLoss: losing az-a loses the quorum (az-a: 1)',
      'limits.bounded: unbounded',
    ])
  })

  it('three replicas, two of them in one AZ: that AZ takes the quorum with it', () => {
    const findings = auditStream(facts({ max_age: 3_600_000_000_000 }, ['n1', 'n2', 'n3']), policy, azOf)
    expect(findings).toEqual([
      { stream: 'EVENTS', rule: 'minAzs', wants: 'replicas over at least 3 AZs', has: 'az-a: 2, az-b: 1' },
      { stream: 'EVENTS', rule: 'survivesAzLoss', wants: 'a quorum of replicas outside any one AZ', has: 'losing az-a loses the quorum (az-a: 2, az-b: 1)' },
    ])
  })

  it('memory storage, a short duplicate window, limits required, discard; placement on unknown servers', () => {
    const findings = auditStream(
      facts({ storage: 'memory' as never, duplicate_window: 1_000_000_000, discard: 'new' as never, max_msgs: 10 }, ['n1', 'x9', 'n5']),
      { storage: 'file', duplicateWindow: 120_000, discard: 'old', limits: { require: ['maxAge', 'maxMsgs'] }, survivesAzLoss: true },
      azOf,
    )
    expect(findings.map((f) => `${f.rule} wants ${f.wants}, has ${f.has}`)).toEqual([
      'placement wants replicas on servers of known AZs, has servers not in the topology: x9',
      'storage wants file, has memory',
      'duplicateWindow wants at least 120000ms, has 1000ms',
      'discard wants old, has new',
      'limits.maxAge wants maxAge set, has unlimited',
    ])
  })

  it('selects streams and buckets by name or glob, and names the missing', () => {
    const all = ['EVENTS', 'ORDERS_EU', 'ORDERS_US', 'KV_player-state'].map((name) => ({ ...facts({}), name }))
    expect(selectStreams(all, {}).chosen).toHaveLength(4)
    const picked = selectStreams(all, { streams: ['ORDERS_*', 'GONE'], buckets: ['player-state', 'sessions'] })
    expect(picked.chosen.map((s) => s.name)).toEqual(['ORDERS_EU', 'ORDERS_US', 'KV_player-state'])
    expect(picked.missing).toEqual(['GONE', 'KV_sessions'])
  })
})

describe('stream-config against a real nats-server', () => {
  let nats: MonitoredNats
  let nc: NatsConnection
  let jsm: JetStreamManager
  beforeAll(async () => {
    nats = await startMonitoredNats()
    nc = await connect({ servers: nats.url })
    jsm = await jetstreamManager(nc)
    // as a system would make them: a durable stream, a scratch one in memory, a KV bucket
    await jsm.streams.add({ name: 'EVENTS', subjects: ['events.>'], num_replicas: 1, max_age: 3_600_000_000_000 })
    await jsm.streams.add({ name: 'SCRATCH', subjects: ['scratch.>'], storage: 'memory' as never, duplicate_window: 1_000_000_000 })
    await new Kvm(nc).create('player-state', { history: 1 })
  })
  afterAll(async () => {
    await nc?.close()
    await nats?.stop()
  })

  const audit = async (params: Record<string, unknown>) => {
    const ctx = probeContext(singleNodeEnv(nats), 'config')
    try {
      return { result: await (await streamConfig.create(ctx, streamConfig.params.parse(params))).run!(), ctx }
    } finally {
      ctx.cleanup()
    }
  }

  it.each(['api', 'monitor'])('FAILS a stream created with one replica (read via %s), with the finding named', async (via) => {
    const { result, ctx } = await audit({ via, streams: ['EVENTS'], policy: { replicas: 3, storage: 'file' } })
    expect(result.metrics).toMatchObject({ audited: 1, nonCompliant: 1, findings: 1, missing: 0, fewestReplicas: 1, fewestAzs: 1 })
    expect((result.details as { findings: string[] }).findings).toEqual(['EVENTS: replicas — wants at least 3, has 1'])
    expect(ctx.evidences.map((e) => e.kind)).toEqual(['stream-config-findings'])
    expect(result.inconclusive).toEqual([])
  })

  it('passes what meets the policy; audits every stream and bucket by default', async () => {
    const ok = await audit({ streams: ['EVENTS'], buckets: ['player-state'], policy: { replicas: 1, storage: 'file', duplicateWindow: '2m' } })
    expect(ok.result.metrics).toMatchObject({ audited: 2, nonCompliant: 0, findings: 0 })
    const all = await audit({ via: 'monitor', policy: { storage: 'file', limits: { bounded: true } } })
    expect(all.result.metrics).toMatchObject({ audited: 3, nonCompliant: 2 })
    expect((all.result.details as { findings: string[] }).findings.sort()).toEqual([
      'KV_player-state: limits.bounded — wants a max age, bytes or messages, has unbounded',
      'SCRATCH: limits.bounded — wants a max age, bytes or messages, has unbounded',
      'SCRATCH: storage — wants file, has memory',
    ])
  })

  it('a named stream that does not exist is a finding; a selection that matches nothing is inconclusive', async () => {
    const gone = await audit({ streams: ['GONE'], policy: { replicas: 1 } })
    expect(gone.result.metrics).toMatchObject({ audited: 0, nonCompliant: 1, missing: 1 })
    const none = await audit({ streams: ['NOTHING_*'], policy: { replicas: 1 } })
    expect(none.result.inconclusive).toEqual(['no stream matched the selection: nothing was audited'])
  })
})
