/**
 * experiments/player-state-cas.yaml on the real local environment: the player-state service's
 * compare-and-set through the gateway, in contention rounds, under a task kill and a kill of its
 * KV bucket's leader — passed as built, deviated (with the counterexample) when the service's CAS
 * is non-atomic (GAMEDAY_BROKEN=non-atomic-cas).
 *
 * player-state runs with an R1 bucket here (KV_REPLICAS=1): on nats-server before 2.10 a
 * replicated stream accepts concurrent updates from one revision (nats-server#4320), so with the
 * shipped R3 bucket the service as built deviates too — kv-cas-under-kill shows that bug; this
 * test is about the service's own CAS. Nothing of either environment survives the test.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runExperiment } from '../../src/vitest/index.ts'
import { processesOf } from '../../src/environments/local/processes.ts'
import { localVariants } from '../support/local-variants.ts'

const variants = localVariants('player-state-cas')
/** The local environment with player-state's task environment set; its own state directory. */
const environment = (name: string, taskEnv: Record<string, string>) => variants.file(name, 'player-state', taskEnv)

describe('player-state-cas: the service’s own CAS through the gateway, contended, under a task kill and a bucket-leader kill', () => {
  it('passes as built: every round had exactly one winner, the history is linearizable', async () => {
    const env = environment('as-built', { KV_REPLICAS: '1' })
    const result = await runExperiment('experiments/player-state-cas.yaml', { env, reportsDir: join(variants.root, 'reports') })
    const cas = result.probe('player-state-cas')
    console.log(`player-state-cas as built: ${result.status} ${JSON.stringify(cas.metrics)}`)
    expect(result.status, result.output.join('\n')).toBe('passed')
    expect(result.faults.map((f) => [f.type, f.state])).toEqual([
      ['service.kill-task', 'reverted'],
      ['nats.kill-node', 'reverted'],
    ])
    expect(cas.metrics).toMatchObject({ linearizable: true, lostUpdates: 0, severalWinnerRounds: 0, sameVersionCas: 0 })
    expect(cas.metrics.contendedRounds).toBeGreaterThanOrEqual(30)
    expect(processesOf(variants.lastStateDir())).toEqual([])
  })

  it('deviates when the service’s compare-and-set is non-atomic: two updates from one version acknowledged, named with the counterexample', async () => {
    const env = environment('non-atomic', { KV_REPLICAS: '1', GAMEDAY_BROKEN: 'non-atomic-cas' })
    const result = await runExperiment('experiments/player-state-cas.yaml', { env, reportsDir: join(variants.root, 'reports') })
    const cas = result.probe('player-state-cas')
    const details = cas.details as { counterexample: string[]; sameVersionCas: string[]; contention: { firstSeveralWinners: { round: number; atMs: number } } }
    console.log(
      `player-state-cas non-atomic: ${result.status} ${JSON.stringify(cas.metrics)} first caught: ${JSON.stringify(details.contention.firstSeveralWinners)}`,
    )
    expect(result.status).toBe('deviated')
    expect(result.exitCode).toBe(1)
    expect(cas.verdict).toBe('fail')
    expect(cas.metrics).toMatchObject({ linearizable: false, verdict: 'not linearizable' })
    expect(cas.metrics.severalWinnerRounds).toBeGreaterThan(0)
    expect(cas.metrics.lostUpdates).toBeGreaterThan(0)
    expect(details.counterexample.some((l) => l.includes('✗'))).toBe(true)
    expect(details.sameVersionCas[0]).toMatch(/two cas acknowledged from version \d+/)
    // caught within seconds of the load starting, long before the faults
    expect(details.contention.firstSeveralWinners.atMs).toBeLessThan(5_000)
    expect(processesOf(variants.lastStateDir())).toEqual([])
  })
})
