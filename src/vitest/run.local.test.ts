/**
 * The vitest API against the real local environment: one short experiment through the real
 * engine, judged with the custom matchers. Its environment lives in a temporary state directory
 * and nothing of it survives the test.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runExperiment } from './index.ts'
import { killHard, processesOf } from '../environments/local/processes.ts'

const dir = mkdtempSync(join(tmpdir(), 'gameday-vitest-api-'))
const stateDir = join(dir, 'state')
const previous = process.env.GAMEDAY_LOCAL_STATE_DIR

afterAll(async () => {
  for (const pid of processesOf(stateDir)) await killHard(pid)
  if (previous === undefined) delete process.env.GAMEDAY_LOCAL_STATE_DIR
  else process.env.GAMEDAY_LOCAL_STATE_DIR = previous
})

describe('runExperiment (gameday/vitest) on the local environment', () => {
  it('runs an experiment with the real engine and judges it with toHoldSteadyState and toMeet', async () => {
    process.env.GAMEDAY_LOCAL_STATE_DIR = stateDir
    const file = join(dir, 'az-c-blip.yaml')
    writeFileSync(
      file,
      [
        'name: az-c-blip',
        'seed: 1',
        'steadyState:',
        '  probes:',
        '    - { name: health, probe: nats-cluster-health, with: { cluster: core, timeout: 30s }, tolerance: "healthy == true" }',
        'method:',
        '  - fault: nats.kill-node',
        '    target: { cluster: core, az: az-c }',
        '    duration: 1s',
        '',
      ].join('\n'),
    )
    const result = await runExperiment(file, { env: 'local', reportsDir: join(dir, 'reports') })

    expect(result).toHoldSteadyState()
    expect(result.status).toBe('passed')
    expect(result.exitCode).toBe(0)
    expect(result.probe('health')).toMeet({ healthy: true, nodes: 5, fullMesh: true })
    expect(result.probe('health', 'before').phase).toBe('before')
    expect(result.faults).toMatchObject([{ type: 'nats.kill-node', state: 'reverted', targets: [{ id: 'n5' }] }])
    expect(existsSync(join(result.runDir, 'journal.jsonl'))).toBe(true)
    expect(result.output.join('\n')).toContain('PASSED')
    // the run started the environment, so it took it down again
    expect(processesOf(stateDir)).toEqual([])
  })
})
