/**
 * SIGKILL of the runner at each point of each fault on ECS tasks, then `gameday recover` twice:
 * recover discovers the services (ai-integration is found by its tags), waits until every one
 * runs its desired count again, says so, and the second recover does nothing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CRASH_POINTS, recoverTwice, resetAccount, runAndKill, type CrashScenario, type Harness } from './support/crash.ts'
import { startHarness } from './support/harness.ts'

const BACK = /ecs: (\S+) runs (\d+)\/\2 tasks/

const SCENARIOS: CrashScenario[] = [
  { fault: 'service.stop-task', target: { service: 'inventory', count: 1 }, with: { grace: '5s' }, first: 'StopTask', inFlight: 'StopTask' },
  { fault: 'service.kill-task', target: { service: 'inventory', count: 2 }, first: 'StopTask', inFlight: 'StopTask' },
  { fault: 'service.rolling-restart', target: { service: 'gateway' }, first: 'StopTask', inFlight: 'StopTask' },
  { fault: 'ecs.stop-task', target: { service: 'ai-integration', count: 1 }, first: 'StopTask', inFlight: 'StopTask' },
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
      expect(first).toMatch(new RegExp(`ecs: ${s.target!.service} runs (\\d+)/\\1 tasks`))
      expect(first).toMatch(BACK)
    },
    120_000,
  )
})
