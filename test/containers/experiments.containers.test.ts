/**
 * The shipped game days, unchanged, with `--env containers`: through the CLI as CI runs them,
 * and through the vitest API as a team's chaos test would. Each run starts its own environment
 * and takes it down again, leaving nothing behind.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../src/util/node-entry.ts'
import type { RunResult } from '../../src/reports/result.ts'
import { runExperiment } from '../../src/vitest/index.ts'
import { leftovers, readJson, sweepEnv, sweepTestLeftovers, testEnvId, testEnvironment } from './support.ts'

const used: string[] = []

beforeAll(async () => {
  await sweepTestLeftovers()
})

afterAll(async () => {
  for (const id of used) await sweepEnv(id)
})

function gameday(args: string[], envId: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/gameday.js'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, GAMEDAY_CONTAINERS_ENV: envId, GAMEDAY_FROM_SOURCE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })))
}

async function run(experiment: string): Promise<{ result: RunResult; envId: string }> {
  const envId = testEnvId()
  used.push(envId)
  const reports = mkdtempSync(join(tmpdir(), 'gameday-containers-'))
  const { code, output } = await gameday(['run', experiment, '--env', 'containers', '--reports', reports, '--no-live'], envId)
  expect(code, output).toBe(0)
  const [runDir] = readdirSync(reports)
  return { result: readJson<RunResult>(join(reports, runDir, 'result.json')), envId }
}

describe('shipped experiments with --env containers', () => {
  it('nats-node-kill: kills the JetStream meta leader under load, reverts it, passes, and leaves nothing behind', async () => {
    const { result, envId } = await run('experiments/nats-node-kill.yaml')
    expect(result.status).toBe('passed')
    expect(result.environment).toBe('containers')
    expect(result.environmentUpMs).toBeGreaterThan(0)
    expect(result.faults).toHaveLength(2) // the meta leader, then the server holding the most clients
    const [fault, second] = result.faults
    expect(fault).toMatchObject({ type: 'nats.kill-node', state: 'reverted', targets: [{ kind: 'node', role: 'jetstream-meta-leader' }] })
    expect(second).toMatchObject({ type: 'nats.kill-node', state: 'reverted', targets: [{ kind: 'node', role: 'most-clients' }] })
    expect(result.evidence.find((e) => e.kind === 'meta-leader-change')?.data).toMatchObject({ from: fault.targets[0].id })
    expect(result.probes.filter((p) => p.phase === 'during').map((p) => [p.name, p.verdict])).toEqual([
      ['gateway-load', 'pass'],
      ['cluster-watch', 'pass'],
      ['tasks', 'pass'], // every task back on NATS and answering after each kill
    ])
    expect(await leftovers(envId)).toEqual({ containers: [], networks: [] })
  })

  it('redis-throttle: 500 ms on the services’ links to Redis through the controller’s fault proxy opens the breaker, which closes after; passes, and leaves nothing behind', async () => {
    const { result, envId } = await run('experiments/redis-throttle.yaml')
    expect(result.status).toBe('passed')
    expect(result.faults).toMatchObject([{ type: 'redis.throttle', state: 'reverted', targets: [{ kind: 'cache', id: 'cache' }] }])
    const breaker = result.probes.find((p) => p.name === 'breaker')!
    expect(breaker.verdict).toBe('pass')
    expect(breaker.metrics).toMatchObject({ tasksOpened: 2, stuckOpen: 0 })
    expect(await leftovers(envId)).toEqual({ containers: [], networks: [] })
  })

  it('nats-az-loss (through gameday/vitest): loses both nodes of az-b, keeps quorum and the SLO, passes, and leaves nothing behind', async () => {
    const envId = testEnvId()
    used.push(envId)
    const result = await runExperiment('experiments/nats-az-loss.yaml', { env: testEnvironment(envId) })
    expect(result).toHoldSteadyState()
    expect(result.probe('gateway-load')).toMeet({ successRate: '>= 95%' })
    expect(result.probe('cluster-watch')).toMeet({ unrecovered: false, recoveryMs: '< 30s' })
    expect(result.status).toBe('passed')
    expect(result.environment).toBe('containers')
    expect(result.faults).toMatchObject([{ type: 'nats.kill-node', state: 'reverted' }])
    expect(result.faults[0].targets.map((t) => t.id).sort()).toEqual(['n3', 'n4'])
    expect(await leftovers(envId)).toEqual({ containers: [], networks: [] })
  })
})
