/**
 * cas-correctness judging a service from outside, with the service's own API: the player-state
 * service (real tasks over a real nats-server) through the gateway's HTTP API (store: http) and
 * over NATS with its protobuf schemas from a descriptor set (store: nats-request), as built and
 * with its compare-and-set made non-atomic (GAMEDAY_BROKEN=non-atomic-cas: read, compare, write).
 *
 * Contention (every contender CASes one version at once) catches the non-atomic CAS in its first
 * rounds; the same service under a random mix of the same volume is typically judged linearizable,
 * because two CAS from one version almost never meet inside the race window — the run shows it
 * by how few CAS it had in flight together (contendedCas).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { casCorrectness } from '../../plugins/probes/cas-correctness.ts'
import type { ProbeResult } from '../../src/api/probe.ts'
import { sleep } from '../../src/util/abort.ts'
import { killAllTasks, spawnGateway, spawnTask, type GatewayTask, type Task } from '../../target/testing/tasks.ts'
import { startRedisServer, type TestServer } from '../support/servers.ts'
import { probeContext, singleNodeEnv, startMonitoredNats, type MonitoredNats } from './support.ts'

/** The gateway's player-state routes as a user writes them (README: "Your own system"). */
export const HTTP_STORE = parse(`
store: http
http:
  read: { method: GET, path: "/v1/players/{key}/state" }
  cas: { method: PUT, path: "/v1/players/{key}/state", body: '{"state":"{value}","expectedVersion":{version}}' }
  write: { method: PUT, path: "/v1/players/{key}/state", body: '{"state":"{value}"}' }
  value: /state
  version: /version
  absent: [404]
  conflict: [409]
  refused: [400, 404, 413, 503]   # the gateway's 503: no responders, or draining — nothing was sent on
`)

/** The player-state service over NATS with its own schemas (what `store: player-state` expands to). */
export const NATS_REQUEST_STORE = parse(`
store: nats-request
natsRequest:
  descriptors: gen/gameday.binpb       # npm run generate: buf build -o gen/gameday.binpb
  read:
    subject: player-state.get
    request: gameday.v1.GetPlayerStateRequest
    response: gameday.v1.GetPlayerStateResponse
    key: player_id
    value: state
    version: version
  cas:
    subject: player-state.update
    request: gameday.v1.UpdatePlayerStateRequest
    response: gameday.v1.UpdatePlayerStateResponse
    key: player_id
    value: state
    expectedVersion: expected_version
    version: version
  status: { header: Nats-Service-Error-Code }
  absent: [404]
  conflict: [409]
`)

const CONTENTION = { mode: 'contention', contention: { contenders: 8, rate: 20 } }

let nats: MonitoredNats
let redis: TestServer

beforeAll(async () => {
  ;[nats, redis] = await Promise.all([startMonitoredNats(), startRedisServer()])
}, 30_000)
afterAll(async () => {
  await killAllTasks()
  await Promise.all([nats?.stop(), redis?.stop()])
})

/** Two player-state tasks (as deployed) and a gateway, with GAMEDAY_BROKEN when given. */
async function startService(broken?: string): Promise<{ gateway: GatewayTask; tasks: Task[] }> {
  const env = { NATS_URL: nats.url, REDIS_URL: redis.url, KV_REPLICAS: '1', ...(broken ? { GAMEDAY_BROKEN: broken } : {}) }
  const tasks = await Promise.all([spawnTask('player-state', env), spawnTask('player-state', env)])
  const gateway = await spawnGateway({ NATS_URL: nats.url, REQUEST_TIMEOUT_MS: '3000' })
  return { gateway, tasks }
}

async function runProbe(
  gateway: string,
  params: Record<string, unknown>,
  during: number | (() => Promise<void>),
  seed = 7,
): Promise<ProbeResult & { metrics: Record<string, any>; details: any }> {
  const ctx = probeContext(singleNodeEnv(nats, redis, { gateway }), 'cas', seed)
  const probe = await casCorrectness.create(ctx, casCorrectness.params.parse({ keys: 2, recoveryTimeout: '20s', ...params }))
  try {
    await probe.start!()
    await (typeof during === 'number' ? sleep(during) : during())
    return (await probe.stop!()) as ProbeResult & { metrics: Record<string, any>; details: any }
  } finally {
    await probe.close?.()
    ctx.cleanup()
  }
}

const summary = (r: { metrics: Record<string, any>; details: any }) =>
  `${r.metrics.verdict}: ${r.metrics.ops} ops, ${r.metrics.rounds} rounds (${r.metrics.contendedRounds} contended, ${r.metrics.severalWinnerRounds} with several winners), contendedCas ${r.metrics.contendedCas}, sameVersionCas ${r.metrics.sameVersionCas}, lostUpdates ${r.metrics.lostUpdates}${r.details.contention?.firstSeveralWinners ? `, first caught in round ${r.details.contention.firstSeveralWinners.round} at ${r.details.contention.firstSeveralWinners.atMs} ms` : ''}`

describe('the player-state service as built', () => {
  let service: { gateway: GatewayTask; tasks: Task[] }
  beforeAll(async () => {
    service = await startService()
  }, 60_000)
  afterAll(() => killAllTasks())

  it.each([
    ['through the gateway (store: http)', HTTP_STORE],
    ['over NATS with its descriptor set (store: nats-request)', NATS_REQUEST_STORE],
  ])('%s, under contention: linearizable, exactly one winner a round, no lost update', async (_what, store) => {
    const r = await runProbe(service.gateway.url, { ...store, ...CONTENTION }, 2_500)
    console.log(`as built, ${_what}: ${summary(r)}`)
    expect(r.violations, JSON.stringify(r.details)).toEqual([])
    expect(r.inconclusive).toBeUndefined()
    expect(r.metrics).toMatchObject({ linearizable: true, lostUpdates: 0, sameVersionCas: 0, severalWinnerRounds: 0, indeterminate: 0 })
    expect(r.metrics.contendedRounds).toBeGreaterThan(3)
    expect(r.metrics.contendedCas).toBeGreaterThan(0.3 * r.metrics.ops)
    expect(r.metrics.counterFinal).toBe(r.metrics.counterAcked)
  })

  it('a contention run that could not contend is inconclusive, never a pass: a method over before any round got to compare-and-set', async () => {
    // stopped in the tick it started: the first rounds' reads are in flight, no answer yet
    const r = await runProbe(service.gateway.url, { ...NATS_REQUEST_STORE, ...CONTENTION }, () => Promise.resolve())
    console.log(`no time to contend: ${summary(r)}`)
    expect(r.violations).toEqual([])
    expect(r.metrics).toMatchObject({ linearizable: true, contendedRounds: 0 })
    expect(r.inconclusive!.join('\n')).toMatch(/no contended round: in \d+ round\(s\) no two CAS left one version at once/)
  })

  it('store: player-state is the same mapping (a preset, no code of the target): linearizable under contention', async () => {
    const r = await runProbe(service.gateway.url, { store: 'player-state', ...CONTENTION }, 1_500)
    expect(r.details.store).toMatchObject({ store: 'player-state', via: 'nats-request' })
    expect(r.metrics).toMatchObject({ linearizable: true, lostUpdates: 0, severalWinnerRounds: 0 })
    expect(r.metrics.contendedRounds).toBeGreaterThan(5)
  })
})

describe('the player-state service with a non-atomic compare-and-set (GAMEDAY_BROKEN=non-atomic-cas)', () => {
  let service: { gateway: GatewayTask; tasks: Task[] }
  beforeAll(async () => {
    service = await startService('non-atomic-cas')
  }, 60_000)
  afterAll(() => killAllTasks())

  it.each([
    ['through the gateway (store: http)', HTTP_STORE],
    ['over NATS with its descriptor set (store: nats-request)', NATS_REQUEST_STORE],
  ])('%s, under contention: not linearizable within seconds, with a counterexample and the lost updates named', async (_what, store) => {
    const r = await runProbe(service.gateway.url, { ...store, ...CONTENTION }, 2_500)
    console.log(`non-atomic-cas, ${_what}: ${summary(r)}\n${(r.details.counterexample as string[]).join('\n')}`)
    expect(r.metrics).toMatchObject({ linearizable: false, verdict: 'not linearizable' })
    expect(r.metrics.severalWinnerRounds).toBeGreaterThan(0)
    expect(r.metrics.contendedCas).toBeGreaterThan(0.3 * r.metrics.ops)
    expect(r.metrics.sameVersionCas).toBeGreaterThan(0)
    expect(r.metrics.lostUpdates).toBeGreaterThan(0)
    expect((r.details.counterexample as string[]).some((l) => l.includes('✗'))).toBe(true)
    expect(r.details.sameVersionCas[0]).toMatch(/two cas acknowledged from version \d+/)
    // caught in the first rounds, not by luck late in the run
    expect(r.details.contention.firstSeveralWinners.atMs).toBeLessThan(2_000)
  })

  it('the same service under the default random mix (60 operations/s, at most 2 in flight per key): CAS from one version hardly ever meet, so volume alone rarely sees the race', async () => {
    const r = await runProbe(service.gateway.url, NATS_REQUEST_STORE, 3_000)
    console.log(`non-atomic-cas, mixed mode: ${summary(r)}`)
    expect(r.metrics.ops).toBeGreaterThan(120)
    // the evidence a race needs — CAS in flight together from one version — is a few percent of
    // the operations at most (contention mode: about half of them, every CAS it sends)
    expect(r.metrics.contendedCas).toBeLessThan(0.1 * r.metrics.ops)
    // and a violation, when one is found, rests on exactly that evidence
    if (!r.metrics.linearizable) expect(r.metrics.contendedCas).toBeGreaterThan(0)
  })
})
