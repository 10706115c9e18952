/**
 * experiments/redis-throttle.yaml judges ai-integration's breaker from the caller's side alone:
 * with the service's breaker events switched off (BREAKER_EVENTS=off) it passes on the reference
 * target, and it fails a breaker whose timeout exceeds Redis's added latency, which never opens
 * (GAMEDAY_BROKEN=long-breaker-timeout). The real engine on the real local environment, each run
 * in its own state directory, every process gone afterwards.
 */
import { describe, expect, it } from 'vitest'
import { runExperiment } from '../../src/vitest/index.ts'
import { processesOf } from '../../src/environments/local/processes.ts'
import { localVariants } from '../support/local-variants.ts'

const variants = localVariants('breaker')
/** The local environment with ai-integration's task environment set; its own state directory. */
const localWith = (name: string, taskEnv: Record<string, string>) => variants.file(name, 'ai-integration', taskEnv)

describe('redis-throttle, the breaker judged from outside (its events switched off)', () => {
  it('passes on the reference target: calls fail fast soon after Redis slows, fast, and normal answers return', async () => {
    const result = await runExperiment('experiments/redis-throttle.yaml', { env: localWith('events-off', { BREAKER_EVENTS: 'off' }) })
    expect(result.status, result.output.join('\n')).toBe('passed')
    const breaker = result.probe('breaker')
    console.log(`redis-throttle, events off: ${result.status} ${JSON.stringify(breaker.metrics)}`)
    expect(breaker.verdict).toBe('pass')
    // judged without a single breaker event: the white-box view saw nothing
    expect(breaker.metrics).toMatchObject({ opens: 0, tasksOpened: 0 })
    expect(breaker.metrics.failFastWithinMs).toBeLessThan(5_000)
    expect(processesOf(variants.lastStateDir())).toEqual([])
  })

  it('FAILS a breaker whose timeout (5 s) exceeds the 500 ms Redis gained: calls never fail fast, and wait past the budget', async () => {
    const result = await runExperiment('experiments/redis-throttle.yaml', {
      env: localWith('long-timeout', { BREAKER_EVENTS: 'off', GAMEDAY_BROKEN: 'long-breaker-timeout' }),
    })
    const breaker = result.probe('breaker')
    console.log(`redis-throttle, long breaker timeout: ${result.status} ${JSON.stringify(breaker.metrics)}`)
    expect(result.status).toBe('deviated')
    expect(result.exitCode).toBe(1)
    expect(breaker.verdict).toBe('fail')
    const failed = breaker.tolerances.filter((t) => !t.ok).map((t) => t.tolerance)
    expect(failed).toContain('failFastWithinMs < 5s')
    expect(failed).toContain('overBudget == 0')
    expect(processesOf(variants.lastStateDir())).toEqual([])
  })
})
