/**
 * End to end on the real local environment: the flagship game day through the CLI, and a
 * SIGTERM in the middle of a fault. Both must leave no process behind.
 */
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { gameday, sandbox } from './cli.ts'
import { processesOf, killHard } from '../../src/environments/local/processes.ts'
import { readJournal } from '../../src/journal/journal.ts'
import { sleep } from '../../src/util/abort.ts'
import type { RunResult } from '../../src/reports/result.ts'

const boxes: string[] = []
afterEach(async () => {
  // whatever happened in the test, nothing of its environment survives it
  for (const stateDir of boxes.splice(0)) for (const pid of processesOf(stateDir)) await killHard(pid)
})

function runDirOf(reportsDir: string): string {
  const [run] = readdirSync(reportsDir)
  return join(reportsDir, run)
}

describe('gameday run on the local environment', () => {
  it('kills the node that is the JetStream meta leader at that moment, reverts it, passes, and leaves nothing running', async () => {
    const { stateDir, reportsDir } = sandbox()
    boxes.push(stateDir)
    const run = gameday(['run', 'experiments/nats-node-kill.yaml', '--reports', reportsDir, '--no-live'], stateDir)
    const code = await run.exit
    expect(code, run.output()).toBe(0)
    const dir = runDirOf(reportsDir)
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as RunResult
    expect(result.status).toBe('passed')
    expect(result.faults).toHaveLength(2)
    const [fault, second] = result.faults
    expect(fault).toMatchObject({ type: 'nats.kill-node', state: 'reverted', injectedAt: expect.any(String), revertedAt: expect.any(String) })
    const victim = fault.targets[0]
    expect(victim).toMatchObject({ kind: 'node', role: 'jetstream-meta-leader' })
    // the cluster watcher saw leadership move away from exactly that node
    const change = result.evidence.find((e) => e.kind === 'meta-leader-change')
    expect(change?.data).toMatchObject({ from: victim.id })
    // then the server holding the most clients: services' tasks had to reconnect, and all did
    expect(second).toMatchObject({ type: 'nats.kill-node', state: 'reverted', targets: [{ kind: 'node', role: 'most-clients' }] })
    expect(result.probes.filter((p) => p.phase === 'during').map((p) => `${p.name} ${p.verdict}`)).toEqual([
      'gateway-load pass',
      'cluster-watch pass',
      'tasks pass',
    ])
    expect(result.evidence.filter((e) => e.kind === 'task-health.recovery')).toHaveLength(2)
    expect(existsSync(join(dir, 'junit.xml')) && existsSync(join(dir, 'summary.md'))).toBe(true)
    expect(processesOf(stateDir)).toEqual([])
  })

  it('on SIGTERM in the middle of a fault: reverts it, tears the environment down, and journals aborted', async () => {
    const { stateDir, reportsDir, dir } = sandbox()
    boxes.push(stateDir)
    const experiment = join(dir, 'long-kill.yaml')
    writeFileSync(
      experiment,
      `name: long-kill\nsteadyState:\n  probes:\n    - { name: health, probe: nats-cluster-health, tolerance: "healthy == true" }\nmethod:\n  - fault: nats.kill-node\n    target: { cluster: core, az: az-c }\n    duration: 5m\n`,
    )
    const run = gameday(['run', experiment, '--reports', reportsDir, '--no-live'], stateDir)
    // wait until the fault is in place
    let journalFile = ''
    for (let i = 0; i < 600; i++) {
      if (existsSync(reportsDir) && readdirSync(reportsDir).length) {
        journalFile = join(runDirOf(reportsDir), 'journal.jsonl')
        if (existsSync(journalFile) && readFileSync(journalFile, 'utf8').includes('"fault.injected"')) break
      }
      await sleep(100)
    }
    expect(readFileSync(journalFile, 'utf8'), run.output()).toContain('"fault.injected"')
    run.child.kill('SIGTERM')
    const code = await run.exit
    expect(code, run.output()).toBe(2)
    const events = readJournal(journalFile)
    const types = events.map((e) => e.type)
    expect(types).toContain('fault.reverted')
    expect(types.indexOf('fault.reverted')).toBeGreaterThan(types.indexOf('fault.injected'))
    expect(types).toContain('environment.down')
    expect(events.at(-1)).toMatchObject({ type: 'run.ended', status: 'aborted', reason: 'signal SIGTERM' })
    expect(processesOf(stateDir)).toEqual([])
  })
})
