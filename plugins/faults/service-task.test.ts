import { describe, expect, it } from 'vitest'
import { serviceKillTask, serviceRollingRestart, serviceStopTask, stopTimings, type StopTiming } from './service-task.ts'
import { MemoryEnvironment } from '../../test/support/memory-environment.ts'
import type { TaskControl, TaskInfo, TaskLifecycle } from '../../src/api/environment.ts'
import type { FaultContext, FaultSpec, FaultType, Json } from '../../src/api/fault.ts'
import type { TargetSelector } from '../../src/api/selector.ts'
import { createRng } from '../../src/util/rng.ts'
import { sleep } from '../../src/util/abort.ts'

/**
 * A service as a platform runs it: a stopped task drains and exits, and a replacement starts
 * and becomes ready a little later (unless `replace` is off). Every call and transition is
 * logged in order, with the task history a real environment keeps.
 */
class SimulatedService implements TaskControl {
  readonly log: string[] = []
  readonly tasks: TaskLifecycle[] = []
  readonly waits: { service: string; timeoutMs: number }[] = []
  private n = 0
  replace = true

  constructor(
    readonly service: string,
    readonly desired: number,
    private readonly timing = { exitMs: 20, startMs: 10, readyMs: 40 },
  ) {
    for (let i = 0; i < desired; i++) this.spawn(true)
  }

  private spawn(ready = false): void {
    const t: TaskLifecycle = {
      service: this.service,
      id: `${this.service}-${++this.n}`,
      az: `az-${'abc'[this.n % 3]}`,
      state: 'PENDING',
      startedAt: new Date().toISOString(),
    }
    this.tasks.push(t)
    const becomeReady = () => {
      t.state = 'RUNNING'
      t.readyAt = new Date().toISOString()
      this.log.push(`ready ${t.id}`)
    }
    if (ready) becomeReady()
    else setTimeout(becomeReady, this.timing.readyMs)
  }

  private end(task: TaskInfo, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const t = this.tasks.find((x) => x.id === task.id)!
    t.state = 'DRAINING'
    t.drainingAt = new Date().toISOString()
    return new Promise((resolve) =>
      setTimeout(
        () => {
          t.state = 'STOPPED'
          t.stoppedAt = new Date().toISOString()
          t.exitCode = signal === 'SIGTERM' ? 0 : null
          t.exitSignal = signal === 'SIGKILL' ? 'SIGKILL' : null
          t.stopReport = signal === 'SIGTERM' ? { event: 'stopped', at: t.stoppedAt, inFlightAtStop: 3, drainedMs: 15, abandoned: 0 } : undefined
          this.log.push(`exited ${t.id}`)
          if (this.replace) setTimeout(() => this.spawn(), this.timing.startMs)
          resolve()
        },
        signal === 'SIGTERM' ? this.timing.exitMs : 1,
      ),
    )
  }

  list = async (service: string): Promise<TaskInfo[]> =>
    this.tasks.filter((t) => t.service === service && t.state !== 'STOPPED').map((t) => ({ service: t.service, id: t.id, az: t.az, state: t.state }))
  stop = async (task: TaskInfo, opts?: { graceMs?: number; reason?: string }) => {
    this.log.push(`stop ${task.id} grace=${opts?.graceMs ?? '-'} reason=${opts?.reason}`)
    await this.end(task, 'SIGTERM')
  }
  kill = async (task: TaskInfo) => {
    this.log.push(`kill ${task.id}`)
    await this.end(task, 'SIGKILL')
  }
  waitForDesired = async (service: string, timeoutMs: number) => {
    this.waits.push({ service, timeoutMs })
    while (this.tasks.filter((t) => t.state === 'RUNNING').length < this.desired) await sleep(5)
  }
  history = async (service: string) => this.tasks.filter((t) => t.service === service)
}

function setup(opts: { seed?: number; replace?: boolean } = {}) {
  const env = new MemoryEnvironment()
  const svc = new SimulatedService('api', 4)
  svc.replace = opts.replace ?? true
  env.tasks = svc as unknown as MemoryEnvironment['tasks']
  const evidence: { kind: string; data: Json }[] = []
  const ctx = {
    env,
    runId: 'run-1',
    rng: createRng(opts.seed ?? 1),
    log: { info() {}, warn() {} },
    signal: new AbortController().signal,
    evidence: (kind: string, data: Json) => void evidence.push({ kind, data }),
    dryRun: false,
    checkpoint() {},
  } as FaultContext
  return { env, svc, ctx, evidence }
}

async function injected<P>(fault: FaultType<P, any>, target: TargetSelector, params: Record<string, unknown>, s = setup()) {
  const spec: FaultSpec<P> = { type: fault.type, target, params: fault.params.parse(params) }
  const targets = await fault.resolve(s.ctx, spec)
  const state = await fault.inject(s.ctx, spec, targets)
  return { ...s, spec, targets, state }
}

const ids = (targets: { id: string }[]) => targets.map((t) => t.id)
const timings = (evidence: { kind: string; data: Json }[]) => evidence.filter((e) => e.kind === 'task.stopped').map((e) => e.data as unknown as StopTiming)

describe('service.stop-task', () => {
  it('picks a percent of the tasks from the seed: the same seed, the same tasks', async () => {
    const pick = async (seed: number) =>
      ids(
        await serviceStopTask.resolve(setup({ seed }).ctx, {
          type: 'service.stop-task',
          target: { service: 'api', percent: 50 },
          params: serviceStopTask.params.parse({}),
        }),
      )
    const a = await pick(11)
    expect(a).toHaveLength(2)
    expect(await pick(11)).toEqual(a)
    const seen = new Set<string>()
    for (let seed = 0; seed < 20; seed++) seen.add((await pick(seed)).join(','))
    expect(seen.size).toBeGreaterThan(2)
    expect(
      ids(
        await serviceStopTask.resolve(setup().ctx, {
          type: 'service.stop-task',
          target: { service: 'api', count: 3 },
          params: serviceStopTask.params.parse({}),
        }),
      ),
    ).toHaveLength(3)
  })

  it('stops the picked tasks gracefully with the grace and a reason naming the run, and records stop and replacement times', async () => {
    const { svc, targets, state, evidence } = await injected(serviceStopTask, { service: 'api', percent: 50 }, { grace: '7s' })
    expect(state).toEqual({ service: 'api', tasks: ids(targets) })
    expect(targets.every((t) => t.wave === undefined)).toBe(true) // all at once
    expect(svc.log.filter((l) => l.startsWith('stop'))).toEqual(ids(targets).map((id) => `stop ${id} grace=7000 reason=gameday run-1`))
    // both stopped at once (as ECS StopTask on several tasks), then replaced
    expect(
      svc.log
        .filter((l) => !/^ready api-[1-4]$/.test(l))
        .slice(0, 2)
        .every((l) => l.startsWith('stop')),
    ).toBe(true)
    const t = timings(evidence)
    expect(t.map((x) => x.task).sort()).toEqual(ids(targets).sort())
    for (const x of t) {
      expect(x).toMatchObject({
        service: 'api',
        action: 'stop',
        exitCode: 0,
        exitSignal: null,
        killedAfterGrace: false,
        stopReport: { inFlightAtStop: 3, drainedMs: 15, abandoned: 0 },
      })
      expect(x.stopMs).toBeGreaterThanOrEqual(15)
      expect(x.replacement).toMatch(/^api-[56]$/)
      expect(x.replacementReadyMs!).toBeGreaterThan(x.exitedAfterMs!)
      expect(x.summary).toMatch(/SIGTERM → exited 0 .*3 in flight.*replacement api-[56] ready after/)
    }
    expect(new Set(t.map((x) => x.replacement)).size).toBe(2)
  })

  it('does not wait for replacements when told not to, and revert waits for the desired count', async () => {
    const { svc, ctx, spec, state, evidence } = await injected(
      serviceStopTask,
      { service: 'api', count: 1 },
      { waitForReplacement: false, recoveryTimeout: '45s' },
    )
    expect(timings(evidence)[0].replacement).toBeUndefined()
    expect(svc.log).not.toContain('ready api-5')
    await serviceStopTask.revert(ctx, spec, state)
    expect(svc.waits).toEqual([{ service: 'api', timeoutMs: 45_000 }])
    expect(svc.log.at(-1)).toMatch(/^ready api-5$/)
  })

  it('after a crash, reverts from the journaled targets alone', async () => {
    const { ctx, spec, targets, svc } = await injected(serviceStopTask, { service: 'api', count: 1 }, {})
    await serviceStopTask.revert(ctx, spec, serviceStopTask.stateFromTargets!(targets))
    expect(svc.waits.map((w) => w.service)).toEqual(['api'])
  })

  it('describes what it would do without doing it', async () => {
    const s = setup()
    const spec = { type: 'service.stop-task', target: { service: 'api', count: 1 }, params: serviceStopTask.params.parse({ grace: '5s' }) }
    const targets = await serviceStopTask.resolve(s.ctx, spec)
    expect(serviceStopTask.describe(s.ctx, spec, targets)).toEqual([
      `stop (SIGTERM (SIGKILL after 5s)) task ${targets[0].id} of api in ${targets[0].az}`,
      'wait for 1 replacement task(s) to be ready, within 2m',
      '(revert) wait until api runs its desired count of ready tasks, within 2m',
    ])
    expect(s.svc.log.filter((l) => !l.startsWith('ready'))).toEqual([])
  })
})

describe('service.kill-task', () => {
  it('kills the picked tasks at once, and records the kill and the replacement', async () => {
    const { svc, targets, evidence } = await injected(serviceKillTask, { service: 'api', count: 1 }, {})
    expect(svc.log.filter((l) => /^(stop|kill)/.test(l))).toEqual([`kill ${targets[0].id}`])
    expect(timings(evidence)[0]).toMatchObject({ action: 'kill', exitSignal: 'SIGKILL', replacement: 'api-5' })
    expect(timings(evidence)[0].summary).toMatch(/^api-\d: SIGKILL; stop took .*; replacement api-5 ready after/)
  })
})

describe('service.rolling-restart', () => {
  it('restarts one task at a time: the next stops only once the previous one has a ready replacement', async () => {
    const { svc, state, evidence, targets } = await injected(serviceRollingRestart, { service: 'api' }, { grace: '3s' })
    // one wave per task, so blast-radius guardrails count one task at a time
    expect(targets.map((t) => t.wave)).toEqual([1, 2, 3, 4])
    const steps = svc.log.filter((l) => /^(stop|ready api-[5-9])/.test(l)).map((l) => l.split(' ').slice(0, 2).join(' '))
    expect(steps).toEqual(['stop api-1', 'ready api-5', 'stop api-2', 'ready api-6', 'stop api-3', 'ready api-7', 'stop api-4', 'ready api-8'])
    expect(state).toEqual({ service: 'api', tasks: ['api-1', 'api-2', 'api-3', 'api-4'] })
    expect(timings(evidence).map((t) => [t.task, t.replacement, t.step])).toEqual([
      ['api-1', 'api-5', 1],
      ['api-2', 'api-6', 2],
      ['api-3', 'api-7', 3],
      ['api-4', 'api-8', 4],
    ])
  })

  it('restarts a seeded count of tasks, and stops there when a replacement never comes', async () => {
    const s = setup({ replace: false })
    const err = await injected(serviceRollingRestart, { service: 'api', count: 2 }, { recoveryTimeout: '300ms' }, s).catch((e: Error) => e)
    expect(String(err)).toMatch(/no replacement for api-\d was ready within 300ms; stopped there/)
    expect(s.svc.log.filter((l) => l.startsWith('stop'))).toHaveLength(1)
    expect(timings(s.evidence)[0].summary).toMatch(/no replacement seen/)
  })
})

describe('stop timings', () => {
  it('marks a task that had to be killed after its grace, and pairs replacements in order', () => {
    const at = Date.UTC(2026, 0, 1)
    const iso = (ms: number) => new Date(at + ms).toISOString()
    const hist: TaskLifecycle[] = [
      { service: 's', id: 's-1', state: 'STOPPED', drainingAt: iso(5), stoppedAt: iso(10_000), exitCode: null, exitSignal: 'SIGKILL' },
      { service: 's', id: 's-2', state: 'STOPPED', drainingAt: iso(60), stoppedAt: iso(80), exitCode: 0, exitSignal: null },
      { service: 's', id: 's-3', state: 'RUNNING', readyAt: iso(12_000) },
      { service: 's', id: 's-4', state: 'RUNNING', readyAt: iso(900) },
    ]
    const task = (id: string): TaskInfo => ({ service: 's', id, state: 'RUNNING' })
    const t = stopTimings(
      [
        { task: task('s-2'), action: 'stop', requestedAt: at + 50, stopMs: 31 },
        { task: task('s-1'), action: 'stop', requestedAt: at, stopMs: 10_002 },
      ],
      [
        { id: 's-3', seenAt: at + 12_100 },
        { id: 's-4', seenAt: at + 1_000 },
      ],
      hist,
    )
    expect(t.map((x) => [x.task, x.killedAfterGrace, x.exitedAfterMs, x.drainMs, x.replacement, x.replacementReadyMs])).toEqual([
      ['s-1', true, 10_000, 9_995, 's-4', 900],
      ['s-2', false, 30, 20, 's-3', 11_950],
    ])
    expect(t[0].summary).toBe('s-1: SIGTERM, killed after the grace; stop took 10.0s; replacement s-4 ready after 900ms')
  })
})
