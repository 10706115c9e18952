/**
 * A service that is not Node — examples/python-inventory, Python's standard library and NATS's
 * text protocol — started as a `command:` among the reference services on the local environment,
 * ready when it answers $SRV.PING: the flagship game day and a task-stop game day pass against
 * it; a variant that exits on SIGTERM without draining fails the task-stop game day, and one that
 * never answers $SRV.PING fails `env up` with its last lines. Nothing is left running.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { gameday, sandbox, type CliRun } from './cli.ts'
import { killHard, processesOf } from '../../src/environments/local/processes.ts'
import type { RunResult } from '../../src/reports/result.ts'
import { REPO_ROOT } from '../../src/util/node-entry.ts'

const EXAMPLE = join(REPO_ROOT, 'examples/python-inventory')
const ENV_FILE = join(EXAMPLE, 'local.yaml')
const TASK_STOP = join(EXAMPLE, 'experiments/inventory-task-stop.yaml')

const boxes: string[] = []
const runs: CliRun[] = []
afterEach(async () => {
  for (const run of runs.splice(0)) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL')
  for (const stateDir of boxes.splice(0)) for (const pid of processesOf(stateDir)) await killHard(pid)
})

/** The example's environment file with the inventory service changed, written where a test can use it. */
function variant(dir: string, change: (inventory: Record<string, unknown>) => void): string {
  const env = parse(readFileSync(ENV_FILE, 'utf8'))
  env.services.inventory.cwd = EXAMPLE // the copy lives elsewhere: the package stays where it is
  change(env.services.inventory)
  const file = join(dir, 'python-variant.yaml')
  writeFileSync(file, stringify(env))
  return file
}

async function cli(args: string[]): Promise<{ code: number | null; output: string; stateDir: string; reportsDir: string }> {
  const { stateDir, reportsDir } = sandbox()
  boxes.push(stateDir)
  const run = gameday(
    args.map((a) => a.replace('$REPORTS', reportsDir)),
    stateDir,
  )
  runs.push(run)
  const code = await run.exit
  return { code, output: run.output(), stateDir, reportsDir }
}

async function runExperiment(experiment: string, envFile: string) {
  const r = await cli(['run', experiment, '--env', envFile, '--reports', '$REPORTS', '--no-live'])
  const [runDir] = readdirSync(r.reportsDir)
  const result = JSON.parse(readFileSync(join(r.reportsDir, runDir, 'result.json'), 'utf8')) as RunResult
  expect(processesOf(r.stateDir)).toEqual([])
  return { ...r, result }
}

const stops = (r: RunResult) => r.evidence.filter((e) => e.kind === 'task.stopped').map((e) => e.data as Record<string, unknown>)

describe('a Python service among the reference services, on the local environment', () => {
  it('experiments/nats-node-kill.yaml passes with the gateway’s inventory calls answered by the Python tasks', async () => {
    const { code, output, result, stateDir } = await runExperiment('experiments/nats-node-kill.yaml', ENV_FILE)
    expect(code, output).toBe(0)
    expect(result.status).toBe('passed')
    expect(result.faults).toMatchObject([
      { type: 'nats.kill-node', state: 'reverted', targets: [{ role: 'jetstream-meta-leader' }] },
      { type: 'nats.kill-node', state: 'reverted', targets: [{ role: 'most-clients' }] },
    ])
    // the inventory tasks were the Python service: its own log lines, its NATS connection name
    const log = readFileSync(join(stateDir, 'logs', 'inventory-1.log'), 'utf8')
    expect(log).toMatch(/"event": "ready", "subjects": \["inventory.get"\], "queue": "q", "az": "az-a", "instance": "[0-9a-f]{22}"/)
  })

  it('inventory-task-stop passes: the stopped Python task drains, exits 0, and its replacement answers $SRV.PING', async () => {
    const { code, output, result } = await runExperiment(TASK_STOP, ENV_FILE)
    expect(code, output).toBe(0)
    const probe = result.probes.find((p) => p.phase === 'during' && p.name === 'inventory-drain')!
    expect(probe).toMatchObject({ verdict: 'pass', metrics: { lost: 0, hung: 0 } })
    const [stop] = stops(result)
    expect(stop).toMatchObject({ service: 'inventory', action: 'stop', exitCode: 0, killedAfterGrace: false, stopReport: { abandoned: 0 } })
    expect(stop.replacementReadyMs).toEqual(expect.any(Number))
  })

  it('a Python task that exits on SIGTERM without draining fails inventory-task-stop, losing requests', async () => {
    const { dir } = sandbox()
    const envFile = variant(dir, (inv) => {
      // the example's 100 ms a request: a stopped task always holds some
      inv.env = { ...(inv.env as object), INVENTORY_BROKEN: 'exit-on-sigterm' }
    })
    const { code, output, result } = await runExperiment(TASK_STOP, envFile)
    expect(code, output).toBe(1)
    const probe = result.probes.find((p) => p.phase === 'during' && p.name === 'inventory-drain')!
    expect(probe.verdict).toBe('fail')
    expect(Number(probe.metrics.lost)).toBeGreaterThan(0)
    expect(stops(result)[0]).toMatchObject({ service: 'inventory', exitCode: 0, stopReport: { broken: 'exit-on-sigterm' } })
  })

  it('a Python task that never answers $SRV.PING fails `env up` at its readyTimeout, with its last lines, and leaves nothing', async () => {
    const { dir } = sandbox()
    const envFile = variant(dir, (inv) => {
      inv.env = { ...(inv.env as object), INVENTORY_BROKEN: 'never-ready' }
      inv.readyTimeout = '10s' // long enough for a Python start on a loaded machine
    })
    const started = Date.now()
    const { code, output, stateDir } = await cli(['env', 'up', '--env', envFile])
    expect(code, output).toBe(2)
    expect(Date.now() - started).toBeLessThan(90_000)
    expect(output).toMatch(
      /inventory: task inventory-\d not ready within 10s \(ready when it answers \$SRV\.PING\.inventory\)( \(\d of its tasks failed\))?; its last lines:/,
    )
    expect(output).toMatch(/ {4}\{"at": "[^"]+", "service": "inventory", "task": "inventory-\d", "event": "ready"/) // it says so, but answers no ping
    expect(output).toContain(join(stateDir, 'logs'))
    expect(processesOf(stateDir)).toEqual([])
    expect(existsSync(join(stateDir, 'state.json'))).toBe(false)
  })
})
