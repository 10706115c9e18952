/**
 * SIGKILL of the runner at each point of each fault on EC2 instances and FIS partitions, then
 * `gameday recover` twice — with real nats-servers standing in for the instances (killed when
 * EC2 stops them, frozen while FIS cuts their AZ off). Recover must leave nothing stopped,
 * frozen or running in FIS, say what it did, and do nothing the second time.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CRASH_POINTS, recoverTwice, resetAccount, runAndKill, type CrashScenario, type Harness } from './support/crash.ts'
import { startHarness } from './support/harness.ts'

const SCENARIOS: CrashScenario[] = [
  {
    fault: 'nats.kill-node',
    target: { cluster: 'core', nodes: ['n2'] },
    first: 'StopInstances',
    inFlight: 'StopInstances',
    says: {
      before: /core\/n2 \(i-0+2\) is running: nothing to start/,
      'in-flight': /core\/n2 \(i-0+2\) was stopped: StartInstances, running after/,
      injected: /was stopped: StartInstances/,
    },
  },
  {
    fault: 'nats.stop-node',
    target: { cluster: 'core', nodes: ['n3'] },
    first: 'StopInstances',
    inFlight: 'StopInstances',
    says: { before: /core\/n3 \(i-0+3\) is running: nothing to start/, 'in-flight': /core\/n3 \(i-0+3\) was stopped: StartInstances/ },
  },
  {
    fault: 'nats.restart-node',
    target: { cluster: 'core', nodes: ['n1'] },
    with: { downtime: '2s' },
    first: 'StopInstances',
    inFlight: 'StopInstances',
    says: { 'in-flight': /core\/n1 \(i-0+1\) was stopped: StartInstances/ },
  },
  {
    fault: 'network.partition',
    target: { cluster: 'core', az: 'az-c' },
    first: 'CreateExperimentTemplate',
    inFlight: 'StartExperiment',
    says: {
      before: /fis \(network\.partition, run .*\): nothing to undo — no experiment found, no template left/,
      'in-flight': /fis \(network\.partition, run .*\): stopped EXPgameday\d+; deleted template EXTgameday\d+/,
      injected: /fis \(network\.partition, run .*\): stopped EXPgameday\d+; deleted template EXTgameday\d+/,
    },
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
