/**
 * The ECS stand-in over its process runtime, with real child processes (small node scripts that
 * behave as well- or ill-behaved services do) and a real nats-server for $SRV.PING readiness.
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import { get as httpGet } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../../util/abort.ts'
import { startNatsServer, type TestServer } from '../../../test/support/servers.ts'
import { ProcessRuntime } from '../local/process-runtime.ts'
import { awaitServicesReady } from './await-ready.ts'
import type { TaskDefinition } from './definition.ts'
import { EcsScheduler } from './scheduler.ts'

let nats: TestServer
const schedulers: EcsScheduler[] = []
const logsDir = mkdtempSync(join(tmpdir(), 'gameday-ecs-'))

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false })
})
afterEach(async () => {
  await Promise.all(schedulers.splice(0).map((s) => s.shutdown()))
})
afterAll(async () => {
  await nats?.stop()
})

/** A task written in JavaScript, run as `node -e`. */
const script = (js: string) => [process.execPath, '-e', js]

const WELL_BEHAVED = `
  const at = () => new Date().toISOString()
  process.on('SIGTERM', () => {
    console.log(JSON.stringify({ event: 'draining', at: at() }))
    setTimeout(() => { console.log(JSON.stringify({ event: 'stopped', at: at(), inFlightAtStop: 0 })); process.exit(0) }, 150)
  })
  console.log(JSON.stringify({ event: 'ready', at: at(), task: process.env.TASK_ID }))
  setInterval(() => {}, 1000)`

function definition(service: string, over: Partial<TaskDefinition> = {}): TaskDefinition {
  return {
    service,
    instances: 1,
    http: false,
    caches: [],
    command: script(WELL_BEHAVED),
    env: {},
    ready: { event: true },
    stopGraceMs: 2000,
    deregistrationDelayMs: 0,
    readyTimeoutMs: 10_000,
    ...over,
  }
}

function scheduler(definitions: TaskDefinition[], events: string[] = []): EcsScheduler {
  const s = new EcsScheduler({
    definitions: Object.fromEntries(definitions.map((d) => [d.service, d])),
    azs: ['az-a', 'az-b', 'az-c'],
    runtime: new ProcessRuntime({ logsDir, baseEnv: process.env }),
    natsUrls: (az) => [`${nats.url}#${az}`],
    redisUrl: () => undefined,
    observerNats: [nats.url],
    say: (event, fields) => events.push(`${event} ${String(fields?.task ?? '')}`),
  })
  schedulers.push(s)
  return s
}

/** One request on a connection of its own (the balancer routes connections). */
const get = (url: string) =>
  new Promise<string>((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve(body))
    }).on('error', reject)
  })

const running = (s: EcsScheduler, service: string) => s.tasks.filter((t) => t.service === service && t.state === 'RUNNING')
const until = <T>(what: string, check: () => T | undefined | false) => waitFor(what, async () => check(), { timeoutMs: 15_000, intervalMs: 20 })

describe('the ECS stand-in over processes', () => {
  it('keeps each service at its desired count, spread over the AZs, and replaces a task that exits', async () => {
    const s = scheduler([definition('svc', { instances: 3 })])
    await s.start()
    await until('3 ready tasks', () => running(s, 'svc').length === 3)
    expect(running(s, 'svc').map((t) => [t.id, t.az])).toEqual([
      ['svc-1', 'az-a'],
      ['svc-2', 'az-b'],
      ['svc-3', 'az-c'],
    ])
    process.kill(running(s, 'svc')[0].pid!, 'SIGKILL') // a crash, nobody asked
    await until('a replacement', () => s.tasks.some((t) => t.id === 'svc-4' && t.state === 'RUNNING'))
    expect(s.tasks.find((t) => t.id === 'svc-1')).toMatchObject({ state: 'STOPPED', exitSignal: 'SIGKILL', stoppedReason: 'killed by SIGKILL' })
    expect(s.tasks.find((t) => t.id === 'svc-1')!.failed).toBeUndefined() // it had been ready: a crash, not a failure to start
    expect(running(s, 'svc')).toHaveLength(3)
  })

  it('fills ${…} placeholders per task in env and command, and gives every task the standard variables', async () => {
    const s = scheduler([
      definition('echo', {
        http: true,
        command: script(
          `console.log('args=' + process.argv.slice(1).join(' ')); console.log('vars=' + [process.env.WHO, process.env.PORT, process.env.NATS_URL, process.env.STOP_GRACE_MS].join(' ')); setInterval(() => {}, 1000)`,
        ).concat(['${AZ}', '$${AZ}']),
        env: { WHO: '${TASK_ID}@${AZ}:${PORT}' },
        ready: { log: '^vars=' },
      }),
    ])
    await s.start()
    const [task] = await until('ready', () => running(s, 'echo').length === 1 && running(s, 'echo'))
    expect(task.port).toEqual(expect.any(Number))
    await s.stop(task.id)
    const log = readFileSync(join(logsDir, `${task.id}.log`), 'utf8')
    expect(log).toContain('args=az-a ${AZ}')
    expect(log).toContain(`vars=echo-1@az-a:${task.port} ${task.port} ${nats.url}#az-a 2000`)
  })

  it('stops a task as ECS does: SIGTERM, the task drains and exits; its own times and report are kept', async () => {
    const s = scheduler([definition('svc')])
    await s.start()
    const [task] = await until('ready', () => running(s, 'svc').length === 1 && running(s, 'svc'))
    const asked = Date.now()
    const stopped = await s.stop(task.id, { reason: 'gameday run-1' })
    expect(stopped).toMatchObject({ state: 'STOPPED', exitCode: 0, exitSignal: null, stoppedReason: 'gameday run-1', stopReport: { event: 'stopped' } })
    // the task's own `draining` line sets drainingAt; it exited ~150 ms later
    expect(Date.parse(stopped!.drainingAt!)).toBeGreaterThanOrEqual(asked - 5)
    expect(Date.parse(stopped!.stoppedAt!) - Date.parse(stopped!.drainingAt!)).toBeGreaterThanOrEqual(100)
    expect(stopped!.failed).toBeUndefined()
  })

  it('SIGKILLs a task that ignores SIGTERM once the grace is over', async () => {
    const s = scheduler([
      definition('stubborn', { command: script(`process.on('SIGTERM', () => {}); console.log('{"event":"ready"}'); setInterval(() => {}, 1000)`) }),
    ])
    await s.start()
    const [task] = await until('ready', () => running(s, 'stubborn').length === 1 && running(s, 'stubborn'))
    const t0 = Date.now()
    const stopped = await s.stop(task.id, { graceMs: 300 })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300)
    expect(stopped).toMatchObject({ state: 'STOPPED', exitSignal: 'SIGKILL' })
  })

  it('takes an http task out of its load balancer before its SIGTERM, by the deregistration delay', async () => {
    const http = `
      const server = require('node:http').createServer((req, res) => res.end(process.env.TASK_ID))
      server.listen(Number(process.env.PORT), '127.0.0.1')
      process.on('SIGTERM', () => { console.log(JSON.stringify({ event: 'draining', at: new Date().toISOString() })); server.close(); process.exit(0) })`
    const s = scheduler([definition('web', { instances: 2, http: true, command: script(http), ready: { http: '/' }, deregistrationDelayMs: 400 })])
    const lb = await s.balancer('web').listen(0, '127.0.0.1')
    const url = `http://127.0.0.1:${(lb.address() as { port: number }).port}/`
    try {
      await s.start()
      await until('2 ready', () => running(s, 'web').length === 2)
      const served = new Set<string>()
      for (let i = 0; i < 4; i++) served.add(await get(url))
      expect([...served].sort()).toEqual(['web-1', 'web-2'])
      const stopping = s.stop('web-1')
      await until('web-1 deregistered', () => s.tasks.find((t) => t.id === 'web-1')!.deregisteredAt)
      for (let i = 0; i < 4; i++) expect(await get(url)).toBe('web-2') // still running, but no traffic
      const web1 = (await stopping)!
      expect(Date.parse(web1.drainingAt!) - Date.parse(web1.deregisteredAt!)).toBeGreaterThanOrEqual(380)
    } finally {
      lb.close()
    }
  })

  it('readiness by TCP, and by $SRV.PING of a NATS service (crediting each instance to the task its metadata names)', async () => {
    const tcp = `require('node:net').createServer().listen(Number(process.env.PORT), '127.0.0.1'); setInterval(() => {}, 1000)`
    const s = scheduler([
      definition('tcp', { command: script(tcp), ready: { tcp: true } }),
      definition('micro', { instances: 2, command: script('setInterval(() => {}, 1000)'), ready: { natsService: 'micro' } }),
    ])
    await s.start()
    await until('tcp ready', () => running(s, 'tcp').length === 1)
    // nothing answers $SRV.PING.micro yet: not ready
    await new Promise((r) => setTimeout(r, 600))
    expect(running(s, 'micro')).toEqual([])
    // one instance naming micro-2 in its metadata, one anonymous: both tasks become ready, micro-2 by name
    const nc: NatsConnection = await connect({ servers: nats.url })
    try {
      const answer = (id: string, metadata: Record<string, string>) =>
        nc.subscribe('$SRV.PING.micro', {
          callback: (_e, m) => void m.respond(JSON.stringify({ type: 'io.nats.micro.v1.ping_response', name: 'micro', id, version: '1.0.0', metadata })),
        })
      answer('instance-b', { task: 'micro-2' })
      await until('micro-2 ready', () => s.tasks.find((t) => t.id === 'micro-2')?.state === 'RUNNING')
      expect(s.tasks.find((t) => t.id === 'micro-1')?.state).toBe('PENDING')
      answer('instance-a', {})
      await until('both ready', () => running(s, 'micro').length === 2)
    } finally {
      await nc.close()
    }
  })

  it('a task that never becomes ready is stopped at its readyTimeout, and `env up` fails showing its last lines (never hangs)', async () => {
    const silent = `console.log('starting inventory'); console.error('cannot reach the database'); process.on('SIGTERM', () => process.exit(3)); setInterval(() => {}, 1000)`
    const s = scheduler([definition('mute', { command: script(silent), readyTimeoutMs: 3000 })])
    await s.start()
    const t0 = Date.now()
    const err = await awaitServicesReady(
      async () => s.tasks,
      { mute: definition('mute', { readyTimeoutMs: 3000 }) },
      { whereLogs: (t) => `logs/${t.id}.log` },
    ).catch((e: Error) => e)
    expect(Date.now() - t0).toBeLessThan(10_000)
    expect((err as Error).message).toMatch(/^mute: task mute-1 not ready within 3s \(ready when its \{"event":"ready"\} line\); its last lines:/)
    expect((err as Error).message).toContain('    starting inventory\n    cannot reach the database')
    expect((err as Error).message).toContain('(all of it: logs/mute-1.log)')
    expect(s.tasks.find((t) => t.id === 'mute-1')).toMatchObject({ state: 'STOPPED', exitCode: 3 })
  })

  it('a task not ready that takes its time to stop still has its last lines in the failure `env up` reports at once', async () => {
    // draining on SIGTERM for 2 s, as a service with a stop grace does: the failure is seen before the exit
    const slow = `console.log('starting inventory'); process.on('SIGTERM', () => setTimeout(() => process.exit(0), 2000)); setInterval(() => {}, 1000)`
    const s = scheduler([definition('slow', { command: script(slow), readyTimeoutMs: 2000 })])
    await s.start()
    const err = await awaitServicesReady(
      async () => s.tasks,
      { slow: definition('slow', { readyTimeoutMs: 2000 }) },
      { whereLogs: (t) => `logs/${t.id}.log` },
    ).catch((e: Error) => e)
    expect((err as Error).message).toMatch(/^slow: task slow-1 not ready within 2s/)
    expect((err as Error).message).toContain('its last lines:\n    starting inventory')
    await until('slow-1 stopped', () => s.tasks.find((t) => t.id === 'slow-1')?.state === 'STOPPED')
  })

  it('a service whose tasks keep exiting before they are ready fails `env up`, and is restarted less and less often', async () => {
    const events: string[] = []
    const s = scheduler([definition('crash', { command: script(`console.error('ModuleNotFoundError: No module named inventory'); process.exit(1)`) })], events)
    await s.start()
    const err = await awaitServicesReady(async () => s.tasks, { crash: definition('crash') }, { whereLogs: () => 'its log' }).catch((e: Error) => e)
    expect((err as Error).message).toMatch(/^crash: task crash-3 exited with code 1 \(3 of its tasks failed\); its last lines:\n {4}ModuleNotFoundError/)
    const starts = s.tasks.filter((t) => t.service === 'crash').map((t) => Date.parse(t.startedAt))
    expect(starts[2] - starts[1]).toBeGreaterThan(starts[1] - starts[0]) // back-off
  })

  it('a command that cannot start is a failed task whose reason says why', async () => {
    const s = scheduler([definition('missing', { command: ['/nonexistent/python3', '-m', 'svc'] })])
    await s.start()
    await until('a failed task', () => s.tasks.find((t) => t.failed))
    expect(s.tasks[0]).toMatchObject({
      state: 'STOPPED',
      failed: 'could not start: /nonexistent/python3: ENOENT',
      lastLines: ['could not start: /nonexistent/python3: ENOENT'],
    })
  })

  it('shutdown stops every task gracefully and replaces none', async () => {
    const s = scheduler([definition('svc', { instances: 2 })])
    await s.start()
    await until('2 ready', () => running(s, 'svc').length === 2)
    await s.shutdown()
    expect(s.tasks.map((t) => [t.id, t.state, t.exitCode])).toEqual([
      ['svc-1', 'STOPPED', 0],
      ['svc-2', 'STOPPED', 0],
    ])
    await new Promise((r) => setTimeout(r, 700))
    expect(s.tasks).toHaveLength(2)
  })
})
