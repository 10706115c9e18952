/**
 * The Python inventory service of examples/python-inventory as an image built from its
 * Dockerfile (gameday/inventory-py:local, `npm run images`), among the reference services on the
 * containers environment: the flagship game day and the task-stop game day pass against it, and
 * its variant that exits on SIGTERM without draining fails the task-stop game day. Each run
 * starts its own environment and leaves nothing behind.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { REPO_ROOT } from '../../src/util/node-entry.ts'
import type { RunResult } from '../../src/reports/result.ts'
import { leftovers, readJson, sweepEnv, sweepTestLeftovers, testEnvId } from './support.ts'

const ENV_FILE = join(REPO_ROOT, 'examples/python-inventory/containers.yaml')
const TASK_STOP = join(REPO_ROOT, 'examples/python-inventory/experiments/inventory-task-stop.yaml')
const used: string[] = []

beforeAll(async () => {
  await sweepTestLeftovers()
})
afterAll(async () => {
  for (const id of used) await sweepEnv(id)
})

async function run(experiment: string, envFile: string): Promise<{ code: number | null; output: string; result: RunResult; envId: string }> {
  const envId = testEnvId()
  used.push(envId)
  const reports = mkdtempSync(join(tmpdir(), 'gameday-python-'))
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/gameday.js'), 'run', experiment, '--env', envFile, '--reports', reports, '--no-live'], {
    cwd: REPO_ROOT,
    env: { ...process.env, GAMEDAY_CONTAINERS_ENV: envId, GAMEDAY_FROM_SOURCE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  const [runDir] = readdirSync(reports)
  return { code, output, result: readJson<RunResult>(join(reports, runDir, 'result.json')), envId }
}

const stops = (r: RunResult) => r.evidence.filter((e) => e.kind === 'task.stopped').map((e) => e.data as Record<string, unknown>)

describe('the Python service as an image, on the containers environment', () => {
  it('experiments/nats-node-kill.yaml passes, and leaves nothing behind', async () => {
    const { code, output, result, envId } = await run('experiments/nats-node-kill.yaml', ENV_FILE)
    expect(code, output).toBe(0)
    expect(result.faults).toMatchObject([
      { type: 'nats.kill-node', state: 'reverted' },
      { type: 'nats.kill-node', state: 'reverted' },
    ])
    expect(await leftovers(envId)).toEqual({ containers: [], networks: [] })
  })

  it('inventory-task-stop passes: the stopped container drains and exits 0, a replacement answers $SRV.PING', async () => {
    const { code, output, result, envId } = await run(TASK_STOP, ENV_FILE)
    expect(code, output).toBe(0)
    expect(result.probes.find((p) => p.phase === 'during' && p.name === 'inventory-drain')).toMatchObject({ verdict: 'pass', metrics: { lost: 0, hung: 0 } })
    expect(stops(result)[0]).toMatchObject({ service: 'inventory', action: 'stop', exitCode: 0, stopReport: { abandoned: 0 } })
    expect(stops(result)[0].replacementReadyMs).toEqual(expect.any(Number))
    expect(await leftovers(envId)).toEqual({ containers: [], networks: [] })
  })

  it('its variant that exits on SIGTERM without draining fails inventory-task-stop', async () => {
    const env = parse(readFileSync(ENV_FILE, 'utf8'))
    env.services.inventory.env = { ...env.services.inventory.env, INVENTORY_BROKEN: 'exit-on-sigterm' }
    const file = join(mkdtempSync(join(tmpdir(), 'gameday-python-env-')), 'broken.yaml')
    writeFileSync(file, stringify(env))
    const { code, output, result, envId } = await run(TASK_STOP, file)
    expect(code, output).toBe(1)
    const probe = result.probes.find((p) => p.phase === 'during' && p.name === 'inventory-drain')!
    expect(probe.verdict).toBe('fail')
    expect(Number(probe.metrics.lost)).toBeGreaterThan(0)
    expect(await leftovers(envId)).toEqual({ containers: [], networks: [] })
  })
})
