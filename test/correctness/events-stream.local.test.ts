/**
 * experiments/events-stream-leader-kill.yaml on the real local environment: the system's own
 * EVENTS stream (made by player-state) audited and written into under repeated stream-leader
 * kills. It passes on the reference target, and FAILS (deviated, the finding named) when the
 * target creates EVENTS with one replica (GAMEDAY_BROKEN=one-replica-stream) — the miss of
 * jetstream-leader-kill, which only ever tests a stream it creates itself.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { runExperiment } from '../../src/vitest/index.ts'
import { killHard, processesOf } from '../../src/environments/local/processes.ts'
import { REPO_ROOT } from '../../src/util/node-entry.ts'

const root = mkdtempSync(join(tmpdir(), 'gameday-events-'))
const stateDirs: string[] = []
const previous = process.env.GAMEDAY_LOCAL_STATE_DIR

afterEach(async () => {
  for (const dir of stateDirs) for (const pid of processesOf(dir)) await killHard(pid)
})
afterAll(() => {
  if (previous === undefined) delete process.env.GAMEDAY_LOCAL_STATE_DIR
  else process.env.GAMEDAY_LOCAL_STATE_DIR = previous
  rmSync(root, { recursive: true, force: true })
})

/** The local environment with player-state's environment variables set; its own state directory. */
function localWith(name: string, playerStateEnv: Record<string, string>): string {
  const env = parse(readFileSync(join(REPO_ROOT, 'environments/local.yaml'), 'utf8'))
  env.services['player-state'].env = playerStateEnv
  const file = join(root, `${name}.yaml`)
  writeFileSync(file, stringify(env))
  const stateDir = join(root, `state-${name}`)
  stateDirs.push(stateDir)
  process.env.GAMEDAY_LOCAL_STATE_DIR = stateDir
  return file
}

describe("events-stream-leader-kill: the system's own EVENTS stream", () => {
  it('passes on the reference target: EVENTS is R3 over three AZs, and nothing acknowledged is lost through three leader kills that met publishes in flight', async () => {
    const result = await runExperiment('experiments/events-stream-leader-kill.yaml', { env: localWith('correct', {}) })
    const durability = result.probe('events-durability')
    console.log(`events-stream-leader-kill: ${result.status} ${JSON.stringify(durability.metrics)}`)
    expect(result.status, result.output.join('\n')).toBe('passed')
    expect(result.probe('events-config', 'method').metrics).toMatchObject({ audited: 2, nonCompliant: 0, fewestReplicas: 3, fewestAzs: 3 })
    expect(result.faults.map((f) => [f.type, f.state, f.targets[0].role])).toEqual(Array(3).fill(['nats.kill-node', 'reverted', 'stream-leader']))
    expect(durability.metrics).toMatchObject({ lost: 0, unexpected: 0, drained: true, kills: 3 })
    expect(durability.metrics.inFlightAtKill).toBeGreaterThan(0)
    expect((durability.details as { stream: { name: string; created: boolean } }).stream).toMatchObject({ name: 'EVENTS', created: false })
    expect(processesOf(stateDirs.at(-1)!)).toEqual([])
  })

  it('FAILS when the target creates EVENTS with one replica: deviated, the finding named in summary.md', async () => {
    const result = await runExperiment('experiments/events-stream-leader-kill.yaml', {
      env: localWith('one-replica', { GAMEDAY_BROKEN: 'one-replica-stream' }),
    })
    const config = result.probe('events-config', 'method')
    console.log(
      `events-stream-leader-kill, EVENTS at R1: ${result.status} ${JSON.stringify(config.metrics)} ${JSON.stringify(result.probe('events-durability').metrics)}`,
    )
    expect(result.status, result.output.join('\n')).toBe('deviated')
    expect(result.exitCode).toBe(1)
    expect(config.verdict).toBe('fail')
    expect(config.metrics).toMatchObject({ nonCompliant: 1, fewestReplicas: 1 })
    const findings = (config.details as { findings: string[] }).findings
    expect(findings).toContain('EVENTS: replicas — wants at least 3, has 1')
    expect(findings.some((f) => f.startsWith('EVENTS: survivesAzLoss — wants a quorum of replicas outside any one AZ, has losing az-'))).toBe(true)
    expect(readFileSync(join(result.runDir, 'summary.md'), 'utf8')).toContain('EVENTS: replicas — wants at least 3, has 1')
    expect(processesOf(stateDirs.at(-1)!)).toEqual([])
  })
})
