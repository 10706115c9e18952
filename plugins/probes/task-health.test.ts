import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { assessTasks, healthMetrics, taskHealth, type Observed } from './task-health.ts'
import type { Environment, TaskInfo } from '../../src/api/environment.ts'
import type { FaultEvent, ProbeContext } from '../../src/api/probe.ts'
import type { Json } from '../../src/api/fault.ts'
import { canConnect, freePort } from '../../src/util/ports.ts'
import { waitFor } from '../../src/util/abort.ts'
import { createRng } from '../../src/util/rng.ts'
import { killAllTasks, spawnTask, type Task } from '../../target/testing/tasks.ts'

const task = (service: string, id: string, az: string, state = 'RUNNING'): TaskInfo => ({ service, id, az, state })

describe('task-health: judging one sample', () => {
  const base: Observed = {
    desired: { gateway: 2, inventory: 2 },
    azs: ['az-a', 'az-b', 'az-c'],
    tasks: {
      gateway: [task('gateway', 'gateway-1', 'az-a'), task('gateway', 'gateway-2', 'az-b')],
      inventory: [task('inventory', 'inventory-1', 'az-a'), task('inventory', 'inventory-2', 'az-b')],
    },
    connections: new Set(['gateway/gateway-1', 'gateway/gateway-2', 'inventory/inventory-1', 'inventory/inventory-2']),
    // the gateway is not a NATS service: it never answers $SRV.PING
    answered: { gateway: undefined, inventory: new Set(['inventory-1', 'inventory-2']) },
    connectionName: '{service}/{task}',
  }

  it('every task running, connected and answering is healthy', () => {
    const v = assessTasks(base)
    expect(v).toMatchObject({ healthy: true, problems: [] })
    expect(v.services[1]).toEqual({
      service: 'inventory',
      desired: 2,
      running: 2,
      azs: { 'az-a': 1, 'az-b': 1 },
      spread: true,
      tasks: [
        { task: 'inventory-1', az: 'az-a', connected: true, answering: true },
        { task: 'inventory-2', az: 'az-b', connected: true, answering: true },
      ],
    })
    expect(healthMetrics(v)).toEqual({ healthy: true, services: 2, desired: 4, running: 4, missingTasks: 0, disconnected: 0, unanswering: 0, unspread: 0 })
  })

  it('a task that is RUNNING to its scheduler but holds no NATS connection and answers nothing is named', () => {
    const v = assessTasks({
      ...base,
      connections: new Set(['gateway/gateway-1', 'gateway/gateway-2', 'inventory/inventory-1']),
      answered: { ...base.answered, inventory: new Set(['inventory-1']) },
    })
    expect(v.healthy).toBe(false)
    expect(v.problems).toEqual(['inventory-2 (az-b): not connected to NATS (no connection named inventory/inventory-2), no answer to $SRV.PING.inventory'])
    expect(healthMetrics(v)).toMatchObject({ healthy: false, running: 4, disconnected: 1, unanswering: 1 })
  })

  it('counts tasks short of the desired count (a draining or pending task is not running), and tasks crowded in one AZ', () => {
    const v = assessTasks({
      ...base,
      tasks: {
        ...base.tasks,
        inventory: [task('inventory', 'inventory-1', 'az-a'), task('inventory', 'inventory-3', 'az-a', 'PENDING')],
        gateway: [task('gateway', 'gateway-1', 'az-a'), task('gateway', 'gateway-4', 'az-a')],
      },
      connections: undefined,
      answered: {},
    })
    expect(v.problems).toEqual(['inventory: 1 of 2 task(s) running and ready'])
    expect(healthMetrics(v)).toMatchObject({ missingTasks: 1, unspread: 1, disconnected: 0, unanswering: 0 })
  })
})

// ---- against a real nats-server and real target tasks ---------------------------------------

/** A nats-server with monitoring, which can be killed and started again on the same ports. */
async function restartableNats() {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-task-health-'))
  const port = await freePort()
  const http = await freePort()
  const conf = join(dir, 'nats.conf')
  writeFileSync(conf, `server_name: n1\nlisten: 127.0.0.1:${port}\nhttp: 127.0.0.1:${http}\n`)
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn('nats-server', ['-c', conf], { stdio: 'ignore' })
    await waitFor('nats-server', () => canConnect(port), { timeoutMs: 10_000, intervalMs: 50 })
  }
  const kill = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child!.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }
  await start()
  return {
    url: `nats://127.0.0.1:${port}`,
    monitor: `http://127.0.0.1:${http}`,
    start,
    kill,
    stop: async () => (await kill(), rmSync(dir, { recursive: true, force: true })),
  }
}

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  await killAllTasks()
  for (const c of cleanups.splice(0).reverse()) await c()
})

function contextFor(nats: { url: string; monitor: string }, tasks: Task[]) {
  const listeners = new Set<(e: FaultEvent) => void>()
  const evidence: { kind: string; data: Json }[] = []
  const env = {
    kind: 'local',
    source: 'test',
    topology: () => ({
      azs: ['az-a', 'az-b'],
      clusters: { core: { name: 'core', nodes: [{ cluster: 'core', name: 'n1', az: 'az-a' }] } },
      caches: {},
      services: { inventory: { name: 'inventory', desired: 2 } },
    }),
    endpoints: { natsServers: () => [nats.url], natsMonitor: () => nats.monitor },
    // both tasks stay RUNNING to their scheduler, as ECS would see a live process
    tasks: { list: async () => tasks.map((t, i) => task('inventory', t.taskId, i ? 'az-b' : 'az-a')) },
  } as unknown as Environment
  const ctx = {
    env,
    name: 'tasks',
    phase: 'during',
    rng: createRng(1),
    log: { info() {}, warn() {} },
    signal: new AbortController().signal,
    artifactPath: (f: string) => join(tmpdir(), f),
    evidence: (kind: string, data: Json) => void evidence.push({ kind, data }),
    onFault: (l: (e: FaultEvent) => void) => (listeners.add(l), () => listeners.delete(l)),
    now: () => performance.now(),
  } as unknown as ProbeContext
  const revert = () => {
    for (const l of listeners) l({ at: 0, kind: 'reverted', faultId: 'f1', type: 'nats.kill-node' })
  }
  return { ctx, evidence, revert }
}

describe('task-health against real tasks', () => {
  it('after their server dies and comes back, a task that never reconnects fails the recovery; the one that reconnects is fine', async () => {
    const nats = await restartableNats()
    cleanups.push(nats.stop)
    const env = { NATS_URL: nats.url, WORK_DELAY_MS: '1' }
    const tasks = [
      await spawnTask('inventory', { ...env, TASK_ID: 'inventory-1' }),
      await spawnTask('inventory', { ...env, TASK_ID: 'inventory-2', GAMEDAY_BROKEN: 'no-reconnect' }),
    ]
    const { ctx, evidence, revert } = contextFor(nats, tasks)
    const params = taskHealth.params.parse({ interval: '200ms', recoveryTimeout: '4s', timeout: '2s' })

    // one-shot, before: both healthy
    const before = await (await taskHealth.create(ctx, params)).run!()
    expect(before.metrics).toMatchObject({ healthy: true, running: 2, disconnected: 0, unanswering: 0 })

    // continuous through a kill of the server and its revert
    const probe = await taskHealth.create(ctx, params)
    await probe.start!()
    await nats.kill()
    await nats.start()
    revert()
    // the good task reconnects; the broken one stays up, but closed
    await tasks[0].waitForLog((l) => l.event === 'nats-reconnected')
    await tasks[1].waitForLog((l) => l.event === 'nats-closed')
    const during = await probe.stop!()
    await probe.close!()
    expect(during.metrics).toMatchObject({ healthy: false, unrecovered: true, disconnected: 1, unanswering: 1 })
    const unrecovered = evidence.find((e) => e.kind === 'task-health.unrecovered')?.data as { summary: string }
    expect(unrecovered.summary).toMatch(
      /^not healthy \d+\.\d+s after the revert: inventory-2 \(az-b\): not connected to NATS \(no connection named inventory\/inventory-2\), no answer to \$SRV\.PING\.inventory$/,
    )
    expect(tasks[1].process.exitCode).toBeNull() // alive: its scheduler sees nothing wrong

    // one-shot, after: still not healthy, and it says why
    const after = await (await taskHealth.create(ctx, params)).run!()
    expect(after.metrics).toMatchObject({ healthy: false, disconnected: 1 })
  }, 60_000)

  it('when every task reconnects, the recovery after the revert is measured and the probe passes', async () => {
    const nats = await restartableNats()
    cleanups.push(nats.stop)
    const env = { NATS_URL: nats.url, WORK_DELAY_MS: '1' }
    const tasks = [await spawnTask('inventory', { ...env, TASK_ID: 'inventory-1' }), await spawnTask('inventory', { ...env, TASK_ID: 'inventory-2' })]
    const { ctx, evidence, revert } = contextFor(nats, tasks)
    const probe = await taskHealth.create(ctx, taskHealth.params.parse({ interval: '200ms', recoveryTimeout: '10s' }))
    await probe.start!()
    await nats.kill()
    await nats.start()
    revert()
    const result = await probe.stop!()
    await probe.close!()
    expect(result.metrics).toMatchObject({ healthy: true, unrecovered: false, disconnected: 0, unanswering: 0 })
    expect(result.metrics.recoveryMs).toBeGreaterThan(0)
    expect(evidence.find((e) => e.kind === 'task-health.recovery')?.data).toMatchObject({
      summary: expect.stringMatching(/^every task healthy \d+\.\ds after the revert/),
    })
  }, 60_000)
})
