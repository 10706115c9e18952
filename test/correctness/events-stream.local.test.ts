/**
 * experiments/events-stream-leader-kill.yaml on the real local environment: the system's own
 * EVENTS stream (made by player-state) audited and written into under repeated stream-leader
 * kills. It passes on the reference target, and FAILS (deviated, the finding named) when the
 * target creates EVENTS with one replica (GAMEDAY_BROKEN=one-replica-stream) — the miss of
 * jetstream-leader-kill, which only ever tests a stream it creates itself.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runExperiment } from '../../src/vitest/index.ts'
import { processesOf } from '../../src/environments/local/processes.ts'
import { localVariants } from '../support/local-variants.ts'

const variants = localVariants('events')
/** The local environment with player-state's task environment set; its own state directory. */
const localWith = (name: string, taskEnv: Record<string, string>) => variants.file(name, 'player-state', taskEnv)

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
    expect(processesOf(variants.lastStateDir())).toEqual([])
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
    expect(processesOf(variants.lastStateDir())).toEqual([])
  })
})
