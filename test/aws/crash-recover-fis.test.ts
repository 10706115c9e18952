/**
 * SIGKILL of the runner at each point of each FIS- or ElastiCache-backed fault, then `gameday
 * recover` twice: experiments are found by the run's tag whatever point the crash came at,
 * stopped (verified), the templates gameday created deleted once, a template gameday does not
 * own left alone, the cache waited for; the second recover does nothing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CRASH_POINTS, recoverTwice, resetAccount, runAndKill, type CrashScenario, type Harness } from './support/crash.ts'
import { startHarness } from './support/harness.ts'

const created = (fault: string) => ({
  before: new RegExp(`fis \\(${fault}, run .*\\): nothing to undo — no experiment found, no template left`),
  'in-flight': new RegExp(`fis \\(${fault}, run .*\\): stopped EXPgameday\\d+; deleted template EXTgameday\\d+`),
  injected: new RegExp(`fis \\(${fault}, run .*\\): stopped EXPgameday\\d+; deleted template EXTgameday\\d+`),
})

const SCENARIOS: CrashScenario[] = [
  {
    fault: 'redis.throttle',
    target: { cache: 'cache' },
    with: { latency: '200ms' },
    first: 'CreateExperimentTemplate',
    inFlight: 'StartExperiment',
    says: created('redis\\.degrade'),
  },
  { fault: 'redis.down', target: { cache: 'cache' }, first: 'CreateExperimentTemplate', inFlight: 'StartExperiment', says: created('redis\\.degrade') },
  { fault: 'redis.az-power', target: { cache: 'cache' }, first: 'CreateExperimentTemplate', inFlight: 'StartExperiment', says: created('redis\\.az-power') },
  {
    fault: 'aws.fis-experiment',
    with: { templateId: 'EXTexisting0001' },
    first: 'StartExperiment',
    inFlight: 'StartExperiment',
    says: {
      before: /fis \(aws\.fis-experiment, run .*\): nothing to undo — no experiment found, no template left/,
      'in-flight': /fis \(aws\.fis-experiment, run .*\): stopped EXPgameday\d+$/m,
      injected: /fis \(aws\.fis-experiment, run .*\): stopped EXPgameday\d+$/m,
    },
  },
  {
    fault: 'redis.failover',
    target: { cache: 'cache' },
    first: 'TestFailover',
    inFlight: 'TestFailover',
    says: { 'in-flight': /redis\.failover: game-cache is available, shard 0001 primary game-cache-002/, injected: /primary game-cache-002/ },
  },
]

let h: Harness & { close(): Promise<void> }
beforeAll(async () => {
  h = await startHarness()
}, 60_000)
afterAll(() => h?.close())
beforeEach(() => resetAccount(h))

describe.each(SCENARIOS)('$fault: SIGKILL of the runner, then gameday recover', (s) => {
  it.each(CRASH_POINTS)(
    '%s',
    async (point) => {
      const runDir = await runAndKill(h, s, point)
      const { first } = await recoverTwice(h, runDir)
      if (s.says?.[point]) expect(first).toMatch(s.says[point]!)
    },
    120_000,
  )
})
