/**
 * Network chaos end to end on the local environment: the AZ partition with its /routez proof,
 * the Redis throttle with the circuit breaker judged, and a breaker that never opens caught.
 * The two shipped experiments share one environment (each reverts what it did, and a run leaves
 * an environment it did not start up); the broken breaker has its own. No process survives.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { gameday, sandbox } from './cli.ts'
import { processesOf, killHard } from '../../src/environments/local/processes.ts'
import type { RunResult } from '../../src/reports/result.ts'
import { REPO_ROOT } from '../../src/util/node-entry.ts'

const boxes: string[] = []
afterEach(async () => {
  for (const stateDir of boxes.splice(0)) for (const pid of processesOf(stateDir)) await killHard(pid)
})

/** Runs an experiment on an environment of its own, which must be gone after; or on the one up in `sharedStateDir`. */
async function run(experiment: string, extra: string[] = [], sharedStateDir?: string): Promise<{ code: number | null; result: RunResult; output: string }> {
  const box = sandbox()
  const { reportsDir } = box
  const stateDir = sharedStateDir ?? box.stateDir
  if (!sharedStateDir) boxes.push(stateDir)
  const r = gameday(['run', experiment, '--reports', reportsDir, '--no-live', ...extra], stateDir)
  const code = await r.exit
  const [dir] = readdirSync(reportsDir)
  const result = JSON.parse(readFileSync(join(reportsDir, dir, 'result.json'), 'utf8')) as RunResult
  if (!sharedStateDir) expect(processesOf(stateDir)).toEqual([])
  return { code, result, output: r.output() }
}

describe('network faults on the local environment', () => {
  describe('the shipped experiments, on one local environment', () => {
    const shared = sandbox()
    beforeAll(async () => {
      const up = gameday(['env', 'up'], shared.stateDir)
      expect(await up.exit, up.output()).toBe(0)
    })
    afterAll(async () => {
      const down = gameday(['env', 'down'], shared.stateDir)
      const code = await down.exit
      const left = processesOf(shared.stateDir)
      for (const pid of left) await killHard(pid)
      expect(code, down.output()).toBe(0)
      expect(left).toEqual([])
    })

    it('partitions az-c: /routez on each side lists no route across the cut, and the mesh is whole after healing', async () => {
      const { code, result, output } = await run('experiments/nats-az-partition.yaml', [], shared.stateDir)
      expect(code, output).toBe(0)
      const during = result.evidence.find((e) => e.kind === 'routez-during-partition')!.data as { routes: Record<string, string[]>; metaLeader: string }
      expect(during.routes.n5).toEqual([])
      for (const n of ['n1', 'n2', 'n3', 'n4']) expect(during.routes[n]).not.toContain('n5')
      expect(['n1', 'n2', 'n3', 'n4']).toContain(during.metaLeader) // JetStream kept a leader on the majority side
      const after = result.evidence.find((e) => e.kind === 'routez-after-heal')!.data as { fullMesh: boolean; metaLeader: string | null }
      expect(after.fullMesh).toBe(true)
      expect(after.metaLeader).toBeTruthy()
      // the recovery after healing explains itself: how long, and which /healthz said what on the way
      const recovery = result.evidence.find((e) => e.kind === 'recovery')!.data as {
        afterRevertMs: number
        unhealthyOnTheWay: { atMs: number; reason: string }[]
        summary: string
      }
      expect(recovery.afterRevertMs).toBe(Math.round(result.probes.find((p) => p.name === 'cluster-watch')!.metrics.recoveryMs as number))
      for (const r of recovery.unhealthyOnTheWay) expect(r.reason).toMatch(/^(n[1-5]: .+|routes: mesh not full)$/)
      expect(recovery.summary).toMatch(/^healthy \d+\.\ds after the revert/)
    })

    it('throttles Redis: the breaker opens, fails fast, closes after, and the other routes keep their SLO', async () => {
      const { code, result, output } = await run('experiments/redis-throttle.yaml', [], shared.stateDir)
      expect(code, output).toBe(0)
      const breaker = result.probes.find((p) => p.name === 'breaker')!
      expect(breaker.metrics.tasksOpened).toBe(2)
      const timeline = (breaker.details as { timeline: { event: string }[] }).timeline.map((e) => e.event)
      expect(timeline.indexOf('fault redis.throttle injected')).toBeLessThan(timeline.findIndex((e) => e.endsWith('→ open')))
    })
  })

  it('fails the circuit-breaker probe when the breaker never opens (misconfigured threshold)', async () => {
    const { dir } = sandbox()
    const env = parse(readFileSync(join(REPO_ROOT, 'environments/local.yaml'), 'utf8'))
    env.services['ai-integration'].env = { GAMEDAY_BROKEN: 'no-breaker' }
    const envFile = join(dir, 'broken-breaker.yaml')
    writeFileSync(envFile, stringify(env))
    const { code, result, output } = await run('experiments/redis-throttle.yaml', ['--env', envFile])
    expect(code, output).toBe(1)
    const breaker = result.probes.find((p) => p.name === 'breaker')!
    expect(breaker.verdict).toBe('fail')
    expect(breaker.metrics.opens).toBe(0)
    expect(breaker.tolerances.find((t) => t.tolerance.startsWith('failFastWithinMs'))!.ok).toBe(false)
  })
})
