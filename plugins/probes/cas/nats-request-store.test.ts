/**
 * store: nats-request against a service that is not the reference target: an in-test ledger
 * speaking its own schema (fixtures/ledger.proto, compiled with `buf build` into a descriptor set
 * at the start) — outcome in an enum field of the response, versions in a nested message, 64-bit
 * amounts — over a real nats-server. Its compare-and-set is atomic, or (broken) reads, awaits,
 * then writes. The mapping is all the probe knows of it.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { create, fromBinary, toBinary, type DescMessage } from '@bufbuild/protobuf'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { casCorrectness } from '../cas-correctness.ts'
import { compileNatsRequest, openNatsRequestStore, type NatsRequestConfig } from './nats-request-store.ts'
import { findMessage, loadDescriptorSet } from './protobuf.ts'
import { sleep } from '../../../src/util/abort.ts'
import { REPO_ROOT } from '../../../src/util/node-entry.ts'
import { defaultRegistry } from '../../../src/builtins.ts'
import { loadExperiment } from '../../../src/experiment/load.ts'
import { formatIssue } from '../../../src/experiment/yaml-source.ts'
import { probeContext, singleNodeEnv, startMonitoredNats, type MonitoredNats } from '../../../test/correctness/support.ts'

const dir = mkdtempSync(join(tmpdir(), 'gameday-ledger-'))
const descriptors = join(dir, 'ledger.binpb')

const mapping = (): NatsRequestConfig =>
  ({
    descriptors,
    status: { field: 'outcome' },
    absent: ['OUTCOME_NOT_FOUND'],
    conflict: ['OUTCOME_CONFLICT'],
    refused: ['OUTCOME_INVALID'],
    read: { subject: 'ledger.get', request: 'ledger.v2.GetBalance', response: 'ledger.v2.Balance', key: 'account', value: 'amount', version: 'meta.revision' },
    cas: {
      subject: 'ledger.set',
      request: 'ledger.v2.SetBalance',
      response: 'ledger.v2.SetResult',
      key: 'account',
      value: 'amount',
      expectedVersion: 'expected.revision',
      version: 'meta.revision',
    },
  }) as NatsRequestConfig

/** The ledger service: atomic, or with a read-compare-write race when `nonAtomic`. */
async function serveLedger(url: string, opts: { nonAtomic: boolean }): Promise<NatsConnection> {
  const registry = loadDescriptorSet(descriptors)
  const m = (name: string): DescMessage => findMessage(registry, `ledger.v2.${name}`)
  const [GetBalance, Balance, SetBalance, SetResult] = ['GetBalance', 'Balance', 'SetBalance', 'SetResult'].map(m) as DescMessage[]
  const OK = 0,
    CONFLICT = 1,
    NOT_FOUND = 2,
    INVALID = 3
  const data = new Map<string, { amount: bigint; revision: bigint }>()
  let revision = 0n
  const nc = await connect({ servers: url })
  nc.subscribe('ledger.get', {
    callback: (_err, msg) => {
      const req = fromBinary(GetBalance!, msg.data) as unknown as { account: string }
      const row = data.get(req.account)
      msg.respond(toBinary(Balance!, create(Balance!, row ? { amount: row.amount, meta: { revision: row.revision } } : ({ outcome: NOT_FOUND } as never))))
    },
  })
  nc.subscribe('ledger.set', {
    callback: (_err, msg) =>
      void (async () => {
        const req = fromBinary(SetBalance!, msg.data) as unknown as { account: string; amount: bigint; expected?: { revision: bigint } }
        const answer = (init: Record<string, unknown>) => msg.respond(toBinary(SetResult!, create(SetResult!, init as never)))
        if (!req.account) return answer({ outcome: INVALID })
        const current = data.get(req.account)?.revision ?? 0n
        if (opts.nonAtomic) await sleep(1) // a user's bug: the write awaits something after the check
        if (req.expected && current !== req.expected.revision) return answer({ outcome: CONFLICT })
        const row = { amount: req.amount, revision: ++revision }
        data.set(req.account, row)
        answer({ outcome: OK, meta: { revision: row.revision } })
      })(),
  })
  await nc.flush()
  return nc
}

let nats: MonitoredNats
beforeAll(async () => {
  execFileSync(join(REPO_ROOT, 'node_modules/.bin/buf'), ['build', join(import.meta.dirname, 'fixtures'), '-o', descriptors], { cwd: REPO_ROOT })
  nats = await startMonitoredNats()
}, 30_000)
afterAll(async () => {
  await nats?.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('nats-request: a service’s own API and schemas, loaded at run time', () => {
  it('maps reads and compare-and-sets onto its messages: absent, created, a conflict, an update', async () => {
    const service = await serveLedger(nats.url, { nonAtomic: false })
    const nc = await connect({ servers: nats.url })
    try {
      const store = openNatsRequestStore(nc, compileNatsRequest(mapping()), { timeoutMs: 1_000, prefix: 't1' })
      expect(await store.read('a')).toEqual({ value: null, version: 0 })
      const created = await store.cas('a', { value: null, version: 0 }, 41)
      expect(created).toEqual({ ok: true, version: expect.any(Number) })
      const v1 = (created as { version: number }).version
      expect(await store.cas('a', { value: null, version: 0 }, 99)).toEqual({ ok: false })
      expect(await store.read('a')).toEqual({ value: 41, version: v1 })
      const updated = await store.cas('a', { value: 41, version: v1 }, 42)
      expect(updated).toMatchObject({ ok: true })
      expect(await store.read('a')).toEqual({ value: 42, version: (updated as { version: number }).version })
      expect(store.write).toBeUndefined() // no blind write mapped: the workload makes none
      expect(await store.ready()).toBeUndefined()
    } finally {
      await nc.close()
      await service.close()
    }
  })

  it('no responders is a definite refusal; a reply that is not the response message is an unknown outcome', async () => {
    const nc = await connect({ servers: nats.url })
    const liar = nc.subscribe('ledger.set', { callback: (_e, msg) => void msg.respond(new Uint8Array([0xff, 0xff, 0xff])) })
    try {
      const store = openNatsRequestStore(nc, compileNatsRequest(mapping()), { timeoutMs: 500, prefix: 't2' })
      await expect(store.read('a')).rejects.toMatchObject({ definite: true, errorClass: 'no-responders' })
      await expect(store.cas('a', { value: null, version: 0 }, 1)).rejects.toMatchObject({ definite: false, errorClass: 'bad-reply' })
    } finally {
      liar.unsubscribe()
      await nc.close()
    }
  })

  it.each([
    [false, 'linearizable'],
    [true, 'not linearizable'],
  ])('the probe in contention mode judges the ledger (non-atomic: %s): %s', async (nonAtomic, verdict) => {
    const service = await serveLedger(nats.url, { nonAtomic })
    const ctx = probeContext(singleNodeEnv(nats), 'ledger', 3)
    const probe = await casCorrectness.create(
      ctx,
      casCorrectness.params.parse({ store: 'nats-request', natsRequest: mapping(), mode: 'contention', contention: { contenders: 6, rate: 40 }, keys: 2 }),
    )
    try {
      await probe.start!()
      await sleep(1_000)
      const r = (await probe.stop!()) as { metrics: Record<string, any>; details: any }
      expect(r.metrics.verdict, JSON.stringify(r.details.counterexample)).toBe(verdict)
      expect(r.metrics.contendedRounds).toBeGreaterThan(5)
      if (nonAtomic) expect(r.metrics.severalWinnerRounds).toBeGreaterThan(0)
      else expect(r.metrics).toMatchObject({ severalWinnerRounds: 0, lostUpdates: 0, indeterminate: 0 })
    } finally {
      await probe.close?.()
      ctx.cleanup()
      await service.close()
    }
  })
})

describe('the mapping is checked against the descriptor set before anything runs', () => {
  const issues = (natsRequest: unknown) => {
    const r = casCorrectness.params.safeParse({ store: 'nats-request', natsRequest })
    return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
  }

  it('a mapping that fits has no issue', () => {
    expect(issues(mapping())).toEqual([])
  })

  it.each([
    [{ read: { ...mapping().read, request: 'ledger.v2.GetBalanse' } }, 'natsRequest.read.request', /no message ledger\.v2\.GetBalanse .*it has/],
    [{ read: { ...mapping().read, request: 'GetBalance' } }, 'natsRequest.read.request', /did you mean ledger\.v2\.GetBalance/],
    [{ cas: { ...mapping().cas, value: 'amont' } }, 'natsRequest.cas.value', /ledger\.v2\.SetBalance has no field amont \(fields: account, amount, expected\)/],
    [{ cas: { ...mapping().cas, key: 'amount' } }, 'natsRequest.cas.key', /holds the key: it must be a singular field of a string/],
    [{ cas: { ...mapping().cas, expectedVersion: 'account.revision' } }, 'natsRequest.cas.expectedVersion', /is not a message/],
    [{ descriptors: join(dir, 'missing.binpb') }, 'natsRequest.descriptors', /not found: build it .*buf build -o/],
    [{ descriptors: join(REPO_ROOT, 'package.json') }, 'natsRequest.descriptors', /is not a usable descriptor set/],
  ])('%#: a wrong name is reported where it is written (%s)', (change, path, message) => {
    const found = issues({ ...mapping(), ...change })
    expect(found).toHaveLength(1)
    expect(found[0]!.path).toBe(path)
    expect(found[0]!.message).toMatch(message)
  })

  it('validate reports every wrong name at its file:line:col', async () => {
    const file = join(dir, 'experiment.yaml')
    const m = mapping()
    writeFileSync(
      file,
      stringify({
        name: 'ledger-cas',
        load: [
          {
            name: 'cas',
            probe: 'cas-correctness',
            with: { store: 'nats-request', natsRequest: { ...m, read: { ...m.read, value: 'amont' }, cas: { ...m.cas, request: 'ledger.v2.SetBal' } } },
          },
        ],
        method: [{ wait: '1s' }],
      }),
    )
    const loaded = await loadExperiment(file, defaultRegistry())
    expect(loaded.ok).toBe(false)
    const text = (loaded as { issues: Parameters<typeof formatIssue>[0][] }).issues.map(formatIssue)
    expect(text).toEqual([
      expect.stringMatching(/experiment\.yaml:\d+:\d+: ledger\.v2\.Balance has no field amont/),
      expect.stringMatching(/experiment\.yaml:\d+:\d+: no message ledger\.v2\.SetBal in the descriptor set \(did you mean ledger\.v2\.SetBalance\?\)/),
    ])
  })

  it('accepts proto field names and their JSON names alike', () => {
    const registry = loadDescriptorSet(descriptors)
    expect(findMessage(registry, '.ledger.v2.Balance').typeName).toBe('ledger.v2.Balance')
    expect(issues({ ...mapping(), read: { ...mapping().read, version: 'meta.revision' } })).toEqual([])
  })
})
