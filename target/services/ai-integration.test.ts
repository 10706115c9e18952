import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { startNatsServer, startRedisServer, type TestServer } from '../../test/support/servers.ts'
import { freePort } from '../../src/util/ports.ts'
import { waitFor } from '../../src/util/abort.ts'
import { RecommendRequestSchema, RecommendResponseSchema } from '../../gen/gameday/v1/ai_integration_pb.ts'
import { killAllTasks, spawnGateway, spawnTask, http, type GatewayTask, type Task } from '../testing/tasks.ts'

interface BreakerEvent {
  task: string
  state: string
  at: number
}

interface BreakerStats {
  breaker: string
  opens: number
  closes: number
  rejects: number
  fallbacks: number
}

/** A redis-server restarted on the port the first one used (the helper picks a new port). */
function restartRedis(port: number): { process: ChildProcess; stop(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-test-redis-again-'))
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function breakerStats(nc: NatsConnection): Promise<BreakerStats & { task: string }> {
  const reply = await nc.request('$SRV.STATS.ai-integration', undefined, { timeout: 2_000 })
  const stats = reply.json<{ metadata: { task: string }; endpoints: Array<{ name: string; data: BreakerStats }> }>()
  return { ...stats.endpoints.find((e) => e.name === 'recommend')!.data, task: stats.metadata.task }
}

function collect(sub: Subscription): BreakerEvent[] {
  const events: BreakerEvent[] = []
  void (async () => {
    for await (const m of sub) events.push(m.json<BreakerEvent>())
  })()
  return events
}

describe('ai-integration circuit breaker', () => {
  let nats: TestServer
  let redis: TestServer
  let again: ReturnType<typeof restartRedis> | undefined
  let gateway: GatewayTask
  let ai: Task
  let nc: NatsConnection

  beforeAll(async () => {
    ;[nats, redis] = await Promise.all([startNatsServer({ jetstream: false }), startRedisServer()])
    ;[gateway, ai] = await Promise.all([
      spawnGateway({ NATS_URL: nats.url }),
      spawnTask('ai-integration', {
        NATS_URL: nats.url,
        REDIS_URL: redis.url,
        TASK_ID: 'ai-1',
        BREAKER_RESET_MS: '500',
        BREAKER_VOLUME: '3',
      }),
    ])
    nc = await connect({ servers: nats.url })
    await ai.waitForLog((l) => l.event === 'redis-ready')
  })

  afterAll(async () => {
    await nc?.close()
    await killAllTasks()
    await Promise.all([nats?.stop(), redis?.stop(), again?.stop()])
  })

  const recommend = () => http(`${gateway.url}/v1/ai/recommend`, { method: 'POST', json: { playerId: 'p1', context: 'shop' } })

  it('answers from Redis with the breaker closed', async () => {
    const first = await recommend()
    expect(first.status).toBe(200)
    expect(first.body).toMatchObject({ playerId: 'p1', source: 'computed', degraded: false, breaker: 'closed', servedBy: 'ai-1' })
    expect(first.body.items).toHaveLength(3)
    const second = await recommend()
    expect(second.body).toMatchObject({ source: 'cache', items: first.body.items, degraded: false })
    expect(await breakerStats(nc)).toMatchObject({ task: 'ai-1', breaker: 'closed', opens: 0, fallbacks: 0 })
  })

  it('opens when Redis dies, answers the fallback without calling Redis, and closes once Redis is back', async () => {
    const sub = nc.subscribe('gameday.breaker.ai-integration')
    const events = collect(sub)
    await nc.flush()
    const killedAt = Date.now()
    await redis.stop()

    // load until the breaker opens; every answer meanwhile is the degraded fallback
    const answers: Array<{ status: number; body: any }> = []
    await waitFor(
      'breaker open event',
      async () => {
        answers.push(await recommend())
        return events.some((e) => e.state === 'open')
      },
      { timeoutMs: 10_000, intervalMs: 10 },
    )
    for (const res of answers) {
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ source: 'fallback', degraded: true })
    }
    const opened = events.find((e) => e.state === 'open')!
    expect(opened).toEqual({ task: 'ai-1', service: 'ai-integration', az: 'az-a', state: 'open', at: expect.any(Number) })
    expect(opened.at).toBeGreaterThanOrEqual(killedAt)

    // open: rejected by the breaker itself (no Redis call), answered with the fallback
    const before = await breakerStats(nc)
    const whileOpen = await recommend()
    expect(whileOpen.body).toMatchObject({ source: 'fallback', degraded: true })
    const after = await breakerStats(nc)
    if (after.breaker === 'open') expect(after.rejects).toBeGreaterThan(before.rejects)
    expect(after).toMatchObject({ opens: 1 })
    expect(after.fallbacks).toBeGreaterThan(0)
    expect(ai.logs.some((l) => l.event === 'breaker' && l.state === 'open')).toBe(true)

    // Redis returns on the same port: the half-open trial succeeds and the breaker closes
    again = restartRedis(Number(new URL(redis.url).port))
    await waitFor(
      'breaker closed event',
      async () => {
        await recommend()
        return events.some((e) => e.state === 'closed')
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    )
    expect(events.map((e) => e.state)).toContain('half-open')
    expect(await breakerStats(nc)).toMatchObject({ breaker: 'closed', closes: 1 })
    const healthy = await recommend()
    expect(healthy.body).toMatchObject({ degraded: false, breaker: 'closed' })
    sub.unsubscribe()
  })
})

describe('ai-integration broken on purpose: no-breaker', () => {
  let nats: TestServer
  afterEach(async () => {
    await killAllTasks()
    await nats?.stop()
  })

  it('never opens, even with Redis unreachable', async () => {
    nats = await startNatsServer({ jetstream: false })
    const deadRedis = `redis://127.0.0.1:${await freePort()}`
    await spawnTask('ai-integration', { NATS_URL: nats.url, REDIS_URL: deadRedis, GAMEDAY_BROKEN: 'no-breaker', BREAKER_VOLUME: '3' })
    const nc = await connect({ servers: nats.url })
    try {
      const request = toBinary(RecommendRequestSchema, create(RecommendRequestSchema, { playerId: 'p1' }))
      for (let i = 0; i < 20; i++) {
        const res = fromBinary(RecommendResponseSchema, (await nc.request('ai-integration.recommend', request, { timeout: 2_000 })).data)
        expect(res).toMatchObject({ source: 'fallback', degraded: true, breaker: 'closed' })
      }
      expect(await breakerStats(nc)).toMatchObject({ breaker: 'closed', opens: 0, fallbacks: 20, rejects: 0 })
    } finally {
      await nc.close()
    }
  })
})
