/**
 * Graceful lifecycle on the real local environment, through the CLI: a service that exits
 * without draining makes the drain probe fail and name the requests it lost; the three shipped
 * lifecycle game days pass, each with requests in flight at every stop (the evidence their
 * verdict rests on); and a drain experiment whose requests are too fast to be in flight at its
 * stops comes out inconclusive, not passed. The three shipped game days share one environment
 * (each reverts what it did, and a run leaves an environment it did not start up); the others
 * start their own. No process is left behind, whatever happens to the test.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { gameday, sandbox, type CliRun } from '../e2e/cli.ts'
import { killHard, processesOf } from '../../src/environments/local/processes.ts'
import type { RunResult } from '../../src/reports/result.ts'

const boxes: string[] = []
const runs: CliRun[] = []
afterEach(async () => {
  // whatever happened in the test, neither the CLI nor anything of its environment survives it
  for (const run of runs.splice(0)) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL')
  for (const stateDir of boxes.splice(0)) for (const pid of processesOf(stateDir)) await killHard(pid)
})

/** Runs `gameday run` in a sandbox of its own: on its own environment, or on the one up in `sharedStateDir`. */
async function runGameday(
  args: string[],
  sharedStateDir?: string,
): Promise<{ code: number | null; output: string; result: RunResult; dir: string; stateDir: string }> {
  const box = sandbox()
  const stateDir = sharedStateDir ?? box.stateDir
  if (!sharedStateDir) boxes.push(stateDir)
  const run = gameday(['run', ...args.map((a) => a.replace('$DIR', box.dir)), '--reports', box.reportsDir, '--no-live'], stateDir)
  runs.push(run)
  const code = await run.exit
  const [runId] = readdirSync(box.reportsDir)
  const dir = join(box.reportsDir, runId)
  const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as RunResult
  return { code, output: run.output(), result, dir, stateDir }
}

type Data = Record<string, unknown>
const evidenceOf = (r: RunResult, kind: string) => r.evidence.filter((e) => e.kind === kind).map((e) => e.data as Data)
const during = (r: RunResult, name: string) => r.probes.find((p) => p.phase === 'during' && p.name === name)!

/** The figures a human wants from a lifecycle run, printed for the record (never asserted on timing). */
function figures(r: RunResult): string {
  const stops = evidenceOf(r, 'task.stopped').map(
    (d) => `${d.task}: stop ${d.exitedAfterMs ?? d.stopMs}ms, replacement ${d.replacement ?? '—'} ready after ${d.replacementReadyMs ?? '—'}ms`,
  )
  const ldm = evidenceOf(r, 'nats.lame-duck').map((d) => `${d.node}: exited ${d.exitMs}ms after ldm, whole again ${d.healthyAfterMs}ms after restart`)
  const reconnects = r.probes
    .filter((p) => p.phase === 'during' && p.metrics.reconnects !== undefined)
    .map((p) => `${p.name}: ${p.metrics.reconnects} reconnects, max ${p.metrics.reconnectMaxMs}ms, mean ${Number(p.metrics.reconnectMeanMs).toFixed(1)}ms`)
  return [`${r.experiment} (${r.status}, ${((r.durationMs ?? 0) / 1000).toFixed(1)}s)`, ...stops, ...ldm, ...reconnects].join('\n  ')
}

describe('graceful lifecycle on the local environment', () => {
  it('a service that exits without draining fails the drain probe, which names the lost requests', async () => {
    const { dir } = sandbox()
    // inventory takes 300 ms per request, so a stopped task always holds some; GAMEDAY_BROKEN=no-drain drops them
    writeFileSync(
      join(dir, 'env.yaml'),
      [
        'kind: local',
        'clusters:',
        '  core:',
        '    nodes: [{ name: n1, az: az-a }, { name: n2, az: az-b }, { name: n3, az: az-c }]',
        'services:',
        '  gateway: { entry: target/gateway.ts, instances: 1, http: true }',
        '  inventory:',
        '    entry: target/services/inventory.ts',
        '    instances: 2',
        '    env: { GAMEDAY_BROKEN: no-drain, WORK_DELAY_MS: "300" }',
        '',
      ].join('\n'),
    )
    writeFileSync(
      join(dir, 'no-drain.yaml'),
      [
        'name: no-drain-stop',
        'seed: 5',
        'load:',
        '  - name: inventory-drain',
        '    probe: drain',
        '    with: { via: gateway, path: "/v1/inventory/player-{seq}", rate: 50, timeout: 5s }',
        'method:',
        '  - wait: 2s',
        '  - fault: service.stop-task',
        '    target: { service: inventory, count: 1 }',
        '  - wait: 2s',
        '',
      ].join('\n'),
    )
    const { code, output, result, stateDir } = await runGameday([join(dir, 'no-drain.yaml'), '--env', join(dir, 'env.yaml')])
    expect(code, output).toBe(1)
    expect(result.status).toBe('deviated')
    const probe = during(result, 'inventory-drain')
    expect(probe.verdict).toBe('fail')
    expect(probe.tolerances.find((t) => t.tolerance === 'lost == 0')).toMatchObject({ ok: false })
    const lost = (probe.details as { lost: { id: string; sentAt: string; cause: string }[] }).lost
    expect(probe.metrics.lost).toBeGreaterThan(0)
    expect(lost.length).toBe(Math.min(20, Number(probe.metrics.lost)))
    for (const r of lost) {
      expect(r.id).toMatch(/^inventory-drain-during-[0-9a-f]{6}-\d{6}$/)
      expect(r.cause).toBe('http-504') // the gateway waited for an answer that never came
    }
    // the lost requests were sent around the stop, and the task said it dropped work
    const [stop] = evidenceOf(result, 'task.stopped')
    expect(stop).toMatchObject({ service: 'inventory', action: 'stop', exitCode: 0, stopReport: { broken: 'no-drain' } })
    expect(Number((stop.stopReport as Data).dropped)).toBeGreaterThan(0)
    const stoppedAt = Date.parse(String(stop.requestedAt))
    for (const r of lost) expect(Math.abs(Date.parse(r.sentAt) - stoppedAt)).toBeLessThan(5_000)
    // a human sees them named in the output
    expect(output).toMatch(new RegExp(`inventory-drain: \\d+ lost request\\(s\\), first: ${lost[0].id} sent ${lost[0].sentAt.replace(/\./g, '\\.')}`))
    console.log(figures(result))
    expect(processesOf(stateDir)).toEqual([])
  })

  describe('the shipped lifecycle game days, on one environment', () => {
    const shared = sandbox()
    beforeAll(async () => {
      const up = gameday(['env', 'up'], shared.stateDir)
      runs.push(up)
      expect(await up.exit, up.output()).toBe(0)
    })
    afterAll(async () => {
      const down = gameday(['env', 'down'], shared.stateDir)
      runs.push(down)
      const code = await down.exit
      const left = processesOf(shared.stateDir)
      for (const pid of left) await killHard(pid)
      expect(code, down.output()).toBe(0)
      expect(left).toEqual([])
    })

    it('experiments/fargate-task-stop.yaml: half the ai-integration tasks stop under load, no request is lost', async () => {
      const { code, output, result, dir } = await runGameday(['experiments/fargate-task-stop.yaml'], shared.stateDir)
      expect(code, output).toBe(0)
      const probe = during(result, 'recommend-drain')
      expect(probe).toMatchObject({ verdict: 'pass', metrics: { lost: 0, hung: 0, stops: 1 } })
      expect(Number(probe.metrics.ok)).toBeGreaterThan(400)
      // Redis 80 ms late for ai-integration: the stopping task held work, and finished it
      expect(result.faults.map((f) => f.type)).toEqual(['redis.throttle', 'service.stop-task'])
      expect(Number(probe.metrics.leastInFlightAtStop)).toBeGreaterThan(0)
      const stops = evidenceOf(result, 'task.stopped')
      expect(stops).toHaveLength(1) // half of 2
      expect(stops[0]).toMatchObject({ service: 'ai-integration', action: 'stop', exitCode: 0, killedAfterGrace: false })
      expect(stops[0].replacementReadyMs).toEqual(expect.any(Number))
      const summary = readFileSync(join(dir, 'summary.md'), 'utf8')
      expect(summary).toMatch(/\| task\.stopped \| ai-integration-\d: SIGTERM → exited 0.*replacement ai-integration-\d ready after/)
      expect(summary).toMatch(
        /\| drain\.stop \| recommend-drain: ai-integration-\d SIGTERM at [\d:.]+: [1-9]\d* of the probe's requests in flight; the task said it held \d+ \|/,
      )
      console.log(figures(result))
    })

    it('experiments/gateway-rolling-drain.yaml: the gateway restarts task by task behind the load balancer, no request is lost', async () => {
      const { code, output, result } = await runGameday(['experiments/gateway-rolling-drain.yaml'], shared.stateDir)
      expect(code, output).toBe(0)
      const drain = during(result, 'gateway-drain')
      expect(drain).toMatchObject({ verdict: 'pass', metrics: { lost: 0, hung: 0, stops: 2 } })
      // the held uploads: each stopping gateway met requests it had to finish
      expect(Number(drain.metrics.leastInFlightAtStop)).toBeGreaterThan(0)
      const stops = evidenceOf(result, 'task.stopped')
      expect(stops.map((s) => s.step)).toEqual([1, 2])
      // one at a time: the second stop was asked for only after the first replacement was ready
      expect(Date.parse(String(stops[1].requestedAt))).toBeGreaterThanOrEqual(Date.parse(String(stops[0].requestedAt)) + Number(stops[0].replacementReadyMs))
      console.log(figures(result))
    })

    it('experiments/nats-lame-duck.yaml: every NATS server in turn goes lame duck, clients move, no request is lost', async () => {
      const { code, output, result } = await runGameday(['experiments/nats-lame-duck.yaml'], shared.stateDir)
      expect(code, output).toBe(0)
      expect(evidenceOf(result, 'nats.lame-duck').map((d) => d.node)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5'])
      const gateway = during(result, 'gateway-drain')
      expect(gateway).toMatchObject({ verdict: 'pass', metrics: { lost: 0, hung: 0, stops: 5 } })
      const nats = during(result, 'nats-drain')
      expect(nats).toMatchObject({ verdict: 'pass', metrics: { lost: 0, hung: 0, stops: 5 } })
      // every server's eviction met requests in flight (Redis is 80 ms late for ai-integration)
      for (const p of [gateway, nats]) expect(Number(p.metrics.leastInFlightAtStop), p.name).toBeGreaterThan(0)
      expect(
        Object.keys(nats.metrics)
          .filter((k) => k.startsWith('inFlightAtStop.'))
          .sort(),
      ).toEqual(['n1', 'n2', 'n3', 'n4', 'n5'].map((n) => `inFlightAtStop.${n}`))
      const reconnections = (nats.details as { reconnections: { ldm: boolean }[] }).reconnections
      expect(reconnections.length).toBeGreaterThanOrEqual(3) // every probe connection was evicted at least once
      expect(reconnections.every((r) => r.ldm)).toBe(true)
      console.log(figures(result))
    })
  })

  it('a drain experiment whose requests are too fast to be in flight at its stops is inconclusive, not passed', async () => {
    const { dir } = sandbox()
    // gateway-rolling-drain as it was shipped before: a GET that takes milliseconds, and the
    // balancer takes each task out a second before its SIGTERM — nothing is in flight at a stop
    writeFileSync(
      join(dir, 'fast-drain.yaml'),
      [
        'name: fast-drain',
        'seed: 20261206',
        'load:',
        '  - name: gateway-drain',
        '    probe: drain',
        '    with: { via: gateway, path: "/v1/inventory/player-{seq}", rate: 50, timeout: 5s }',
        '    tolerance: ["lost == 0", "hung == 0", "failed == 0"]',
        'method:',
        '  - wait: 2s',
        '  - fault: service.rolling-restart',
        '    target: { service: gateway }',
        '    with: { grace: 10s, recoveryTimeout: 60s }',
        '  - wait: 2s',
        '',
      ].join('\n'),
    )
    const { code, output, result, dir: runDir, stateDir } = await runGameday([join(dir, 'fast-drain.yaml')])
    expect(code, output).toBe(3)
    expect(result.status).toBe('inconclusive')
    const probe = during(result, 'gateway-drain')
    expect(probe).toMatchObject({ verdict: 'inconclusive', metrics: { lost: 0, stops: 2, inFlightAtStop: 0 } })
    expect(probe.inconclusive?.[0]).toMatch(/fewer than 1 of the probe's requests were in flight at 2 of 2 stop\(s\): gateway-\d SIGTERM at/)
    const summary = readFileSync(join(runDir, 'summary.md'), 'utf8')
    expect(summary).toMatch(/^# ❔ fast-drain — inconclusive/)
    expect(summary).toMatch(/\| during \| gateway-drain \| ❔ inconclusive \|.*inconclusive: fewer than 1 of the probe's requests were in flight/)
    expect(readFileSync(join(runDir, 'junit.xml'), 'utf8')).toMatch(/<skipped message="inconclusive: fewer than 1/)
    expect(processesOf(stateDir)).toEqual([])
  })
})
