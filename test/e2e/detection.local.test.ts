/**
 * Detection power, kept in CI: the misses the mutation table was made to close, each rebuilt as
 * a broken variant of the target, must make their shipped experiment deviate — with the
 * evidence named in summary.md. The correct target passing the same experiments is kept by
 * test/lifecycle/drain.local.test.ts (gateway-rolling-drain) and local-run.local.test.ts
 * (nats-node-kill). Only the pairs marked `ci` in bench/mutant-table.ts run here (two runs,
 * about four minutes on 2 cores); `npm run mutants` runs the whole table.
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { runExperiment } from '../../src/vitest/index.ts'
import { killHard, processesOf } from '../../src/environments/local/processes.ts'
import { MUTANT_TABLE } from '../../bench/mutant-table.ts'
import { variantEnvironmentFile } from '../../bench/mutant-env.ts'

const stateDirs: string[] = []
afterEach(async () => {
  // whatever happened in the test, nothing of its environment survives it
  for (const dir of stateDirs.splice(0)) for (const pid of processesOf(dir)) await killHard(pid)
  delete process.env.GAMEDAY_LOCAL_STATE_DIR
})

/** Runs a shipped experiment on a fresh local environment whose `services` run `variant`. */
async function runBroken(experiment: string, variant: string, services: string[]) {
  const pair = MUTANT_TABLE.find((r) => r.experiment === experiment)?.pairs.find((p) => p.variant === variant)
  expect(pair, `${experiment} × ${variant} in the mutation table`).toMatchObject({ ci: true, services })
  const stateDir = join(mkdtempSync(join(tmpdir(), 'gameday-detect-')), 'state')
  stateDirs.push(stateDir)
  process.env.GAMEDAY_LOCAL_STATE_DIR = stateDir
  const result = await runExperiment(`experiments/${experiment}`, { env: variantEnvironmentFile(variant, services) })
  expect(processesOf(stateDir)).toEqual([])
  return { result, summary: readFileSync(join(result.runDir, 'summary.md'), 'utf8') }
}

describe('the shipped experiments catch the bugs they used to miss', () => {
  it('gateway-rolling-drain catches a gateway that does not drain: the held uploads it cut are lost, named per stop', async () => {
    const { result, summary } = await runBroken('gateway-rolling-drain.yaml', 'no-drain', ['gateway'])
    expect(result.status, result.output.join('\n')).toBe('deviated')
    const drain = result.probe('gateway-drain', 'during')
    expect(drain.verdict).toBe('fail')
    expect(drain.tolerances.find((t) => t.tolerance === 'lost == 0')).toMatchObject({ ok: false })
    expect(Number(drain.metrics.lost)).toBeGreaterThan(0)
    // the evidence: two stops, each met requests in flight, and the task said it dropped them
    expect(drain.metrics.stops).toBe(2)
    expect(Number(drain.metrics.leastInFlightAtStop)).toBeGreaterThan(0)
    expect(summary).toMatch(
      /\| drain\.stop \| gateway-drain: gateway-\d SIGTERM at [\d:.]+ \(out of service from [\d:.]+\): \d+ of the probe's requests in flight; the task said it held \d+, dropped \d+ \|/,
    )
    expect(summary).toMatch(/\| during \| gateway-drain \| ❌ fail \| ✗ `lost == 0` \(\d+\)/)
  })

  it('nats-node-kill catches a service that never reconnects after its server dies, which no traffic probe notices', async () => {
    const { result, summary } = await runBroken('nats-node-kill.yaml', 'no-reconnect', ['ai-integration'])
    expect(result.status, result.output.join('\n')).toBe('deviated')
    // the load through the gateway did not notice: it never calls ai-integration
    expect(result.probe('gateway-load', 'during').verdict).not.toBe('fail')
    const tasks = result.probe('tasks', 'during')
    expect(tasks).toMatchObject({ verdict: 'fail', metrics: { unrecovered: true } })
    expect(Number(tasks.metrics.disconnected)).toBeGreaterThanOrEqual(1)
    expect(result.probe('tasks', 'after')).toMatchObject({ verdict: 'fail', metrics: { healthy: false } })
    expect(summary).toMatch(
      /\| task-health\.unrecovered \| not healthy [\d.]+s after the revert: ai-integration-\d \(az-\w\): not connected to NATS \(no connection named ai-integration\/ai-integration-\d\), no answer to \$SRV\.PING\.ai-integration/,
    )
  })
})
