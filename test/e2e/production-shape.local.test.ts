/**
 * The production shape on the local environment, what issue 12 must show, as cheaply as it can:
 *
 *  - local-secure (NATS TLS with accounts): every node refuses a plaintext client and a client
 *    without a certificate, while Gameday's own identity gets in (so the refusals are the
 *    server's, not a dead port); nats-tls-rotation keeps every client on its node (no reconnect,
 *    nothing lost or hung), and the same load through a "rotation" that restarts the servers
 *    instead of reloading them deviates on the reconnects it causes;
 *    nats-expired-certificate: a node back with an expired certificate, its clients move and none hangs;
 *  - redis-cluster-cas-failover: player-state as built (acknowledging once the primary has the
 *    write) loses acknowledged updates when the isolated primary is failed over — that run is the
 *    broken variant — and with REDIS_WAIT_REPLICAS=1 it loses none.
 *
 * One environment up per shape; whatever happens, no process of any of them survives the file.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { runExperiment } from '../../src/vitest/index.ts'
import { loadEnvironment } from '../../src/environments/load.ts'
import { killHard, processesOf } from '../../src/environments/local/processes.ts'
import { REPO_ROOT } from '../../src/util/node-entry.ts'
import { expectEveryNodeRefusesStrangers } from '../support/nats-clients.ts'
import { expectRotationVerdicts } from '../support/rotation-verdicts.ts'
import type { Environment } from '../../src/api/environment.ts'

const quiet = { info: () => {}, warn: () => {} }
const stateDirs: string[] = []
const tempDirs: string[] = []
const savedStateDir = process.env.GAMEDAY_LOCAL_STATE_DIR

/** A fresh state directory for the next environment loaded (GAMEDAY_LOCAL_STATE_DIR). */
function freshStateDir(): string {
  const parent = mkdtempSync(join(tmpdir(), 'gameday-prod-shape-'))
  tempDirs.push(parent)
  const dir = join(parent, 'state')
  stateDirs.push(dir)
  process.env.GAMEDAY_LOCAL_STATE_DIR = dir
  return dir
}

afterAll(async () => {
  // whatever happened in the tests, nothing any environment of this file started survives it
  for (const dir of stateDirs) for (const pid of processesOf(dir)) await killHard(pid)
  for (const dir of stateDirs) expect(processesOf(dir), dir).toEqual([])
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  if (savedStateDir === undefined) delete process.env.GAMEDAY_LOCAL_STATE_DIR
  else process.env.GAMEDAY_LOCAL_STATE_DIR = savedStateDir
})

/**
 * nats-tls-rotation with its rotations done the way a careless runbook does them: each server
 * restarted (killed and started) instead of reloaded. Same load, same tolerances; written beside
 * a copy of the steady state it includes.
 */
function rotationByRestart(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-prod-shape-exp-'))
  tempDirs.push(dir)
  mkdirSync(join(dir, 'steady-state'))
  copyFileSync(join(REPO_ROOT, 'steady-state', 'gateway-slo.yaml'), join(dir, 'steady-state', 'gateway-slo.yaml'))
  const exp = parse(readFileSync(join(REPO_ROOT, 'experiments', 'nats-tls-rotation.yaml'), 'utf8')) as Record<string, unknown>
  exp.name = 'nats-tls-rotation-by-restart'
  exp.method = [{ wait: '2s' }, { name: 'restart n1 and n3', fault: 'nats.restart-node', target: { cluster: 'core', nodes: ['n1', 'n3'] } }, { wait: '5s' }]
  const file = join(dir, 'nats-tls-rotation-by-restart.yaml')
  writeFileSync(file, stringify(exp))
  return file
}

describe('local-secure: NATS with TLS and accounts', () => {
  let env: Environment

  beforeAll(async () => {
    freshStateDir()
    env = await loadEnvironment(join(REPO_ROOT, 'environments', 'local-secure.yaml'))
    await env.up(quiet)
  }, 120_000)

  afterAll(async () => {
    await env?.down(quiet)
    await env?.close?.()
  }, 60_000)

  it("every node refuses a plaintext client and one without a certificate; Gameday's identity gets in on each", async () => {
    await expectEveryNodeRefusesStrangers(env)
  })

  it('nats-tls-rotation: every certificate rotated under load, no client reconnected, nothing hung, the cluster whole', async () => {
    expectRotationVerdicts(await runExperiment('experiments/nats-tls-rotation.yaml', { env, keepEnv: true }))
  })

  it('nats-expired-certificate: n1 back from a restart with an expired certificate, its clients move to the other nodes, none hangs', async () => {
    const result = await runExperiment('experiments/nats-expired-certificate.yaml', { env, keepEnv: true })
    const output = result.output.join('\n')
    expect(result.status, output).toBe('passed')
    const clients = result.probe('nats-clients', 'during')
    expect(clients.metrics).toMatchObject({ hung: 0 })
    expect(Number(clients.metrics.reconnects), output).toBeGreaterThanOrEqual(1) // the clients on n1 had to move
    expect(result.probe('gateway-requests', 'during').metrics).toMatchObject({ hung: 0 })
  })

  it('the same load through a rotation that restarts servers instead of reloading them deviates on the reconnects', async () => {
    const result = await runExperiment(rotationByRestart(), { env, keepEnv: true })
    expect(result.status, result.output.join('\n')).toBe('deviated')
    const clients = result.probe('nats-clients', 'during')
    expect(clients.verdict).toBe('fail')
    expect(Number(clients.metrics.reconnects)).toBeGreaterThan(0)
  })
})

describe('redis-cluster-cas-failover: CAS through player-state while each shard primary is isolated and failed over', () => {
  async function casRun(envFile: string) {
    freshStateDir()
    const result = await runExperiment('experiments/redis-cluster-cas-failover.yaml', { env: join(REPO_ROOT, 'environments', envFile) })
    return { result, cas: result.probe('player-state-cas', 'during') }
  }

  it('player-state as built (acknowledged once the primary has it) loses acknowledged updates: the broken variant', async () => {
    const { result, cas } = await casRun('local-redis-cluster.yaml')
    expect(result.status, result.output.join('\n')).toBe('deviated')
    expect(cas.verdict).toBe('fail')
    // what was lost is named: increments acknowledged and missing from the counter, or two winners from one version
    const lost = Number(cas.metrics.lostUpdates) + Number(cas.metrics.sameVersionCas)
    expect(lost, JSON.stringify(cas.metrics)).toBeGreaterThan(0)
    const summary = readFileSync(join(result.runDir, 'summary.md'), 'utf8')
    expect(summary).toMatch(/redis\.isolate-primary/)
  })

  it('with REDIS_WAIT_REPLICAS=1 no acknowledged update is lost across the same failovers', async () => {
    const { result, cas } = await casRun('local-redis-cluster-wait.yaml')
    expect(result.status, result.output.join('\n')).toBe('passed')
    expect(cas.metrics).toMatchObject({ lostUpdates: 0, sameVersionCas: 0, linearizable: true })
    expect(Number(cas.metrics.contendedRounds)).toBeGreaterThanOrEqual(50)
  })
})
