/**
 * Waiting on AWS without hammering it: polls start at the file's pollInterval and back off
 * (×1.5, ±20% jitter) to maxPollInterval, and the SDK retries throttled calls in its adaptive
 * mode. Measured against the fake account over HTTP, by the calls it received and when.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { backoff } from '../../src/util/abort.ts'
import { AwsEnvironment } from '../../src/environments/aws/environment.ts'
import { loadAwsConfig } from '../../src/environments/aws/config.ts'
import { serviceStopTask } from '../../plugins/faults/service-task.ts'
import { FakeAccount } from './support/fake-aws/account.ts'
import { FakeAwsServer } from './support/fake-aws/server.ts'
import { fakeEnvironment, writeFakeEnvFile } from './support/fake-env.ts'
import { faultContext } from './support/mocked-account.ts'

let dir: string
let aws: FakeAwsServer | undefined
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gameday-aws-polling-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(async () => {
  await aws?.close()
  aws = undefined
})

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i])

describe('backoff', () => {
  it('grows by the factor up to the cap, each pause spread by the jitter', () => {
    const exact = backoff(100, { maxMs: 400, jitter: 0 })
    expect(Array.from({ length: 6 }, exact)).toEqual([100, 150, 225, 338, 400, 400])
    const low = backoff(100, { maxMs: 400, random: () => 0 })
    const high = backoff(100, { maxMs: 400, random: () => 1 })
    expect([low(), low()]).toEqual([80, 120])
    expect([high(), high()]).toEqual([120, 180])
  })
})

describe('polling ECS while a stopped task is replaced', () => {
  it('service.stop-task honours pollInterval and backs off: a few ListTasks, further and further apart — not one every 100 ms', async () => {
    aws = await FakeAwsServer.start(new FakeAccount({ stepMs: 400 })) // the replacement runs 1.6 s after StopTask
    const env = await fakeEnvironment(writeFakeEnvFile(dir, { endpoint: aws.endpoint, pollInterval: '300ms', maxPollInterval: '2s' }), aws.endpoint)
    await env.discover()
    const ctx = faultContext(env as never, { seed: 1 })
    const spec = { type: serviceStopTask.type, target: { service: 'inventory', count: 1 }, params: serviceStopTask.params.parse({ recoveryTimeout: '20s' }) }
    const targets = await serviceStopTask.resolve(ctx, spec)
    aws.clearCalls()
    await serviceStopTask.inject(ctx, spec, targets)
    await env.close()
    const stopAt = aws.calls.find((c) => c.operation === 'StopTask')!.at
    // the waits' ListTasks: after the StopTask, before the task history is read (ListTasks RUNNING, then STOPPED)
    const lists = aws.calls.filter((c) => c.operation === 'ListTasks' && c.at > stopAt)
    const historyAt = lists.findIndex((c) => c.input.desiredStatus === 'STOPPED') - 1
    const polls = lists.slice(0, historyAt).map((c) => c.at)
    expect(polls.length).toBeGreaterThanOrEqual(2)
    expect(polls.length).toBeLessThanOrEqual(6) // at 100 ms it was ~16 in these 1.6 s (39 in 9 s on a real run)
    const g = gaps(polls)
    expect(Math.min(...g)).toBeGreaterThanOrEqual(300 * 0.8 - 20)
    expect(g.at(-1)!).toBeGreaterThan(g[0])
  })

  it('the environment waits with the same discipline (waitForDesired: DescribeServices, backing off)', async () => {
    aws = await FakeAwsServer.start(new FakeAccount({ stepMs: 400 }))
    const env = await fakeEnvironment(writeFakeEnvFile(dir, { endpoint: aws.endpoint, pollInterval: '200ms', maxPollInterval: '2s' }), aws.endpoint)
    await env.discover()
    const [task] = await env.tasks.list('gateway')
    await env.tasks.stop(task, { reason: 'gameday polling' })
    aws.clearCalls()
    await env.tasks.waitForDesired('gateway', 20_000)
    await env.close()
    const polls = aws.calls.filter((c) => c.operation === 'DescribeServices').map((c) => c.at)
    expect(polls.length).toBeLessThanOrEqual(6)
    const g = gaps(polls)
    expect(Math.min(...g)).toBeGreaterThanOrEqual(200 * 0.8 - 20)
    expect(g.at(-1)!).toBeGreaterThan(g[0])
  })
})

describe("the SDK's adaptive retry mode", () => {
  it('is what the environment builds its clients with', async () => {
    const env = new AwsEnvironment(await loadAwsConfig(writeFakeEnvFile(dir, { endpoint: 'http://127.0.0.1:9' })))
    for (const client of Object.values(env.clients)) {
      const config = client.config as unknown as { retryMode: string; maxAttempts: () => Promise<number> }
      expect(config.retryMode).toBe('adaptive')
      expect(await config.maxAttempts()).toBe(5)
    }
    await env.close()
  })

  it('rides out throttling: the throttled calls are retried and discovery completes', async () => {
    aws = await FakeAwsServer.start(new FakeAccount())
    const env = await fakeEnvironment(writeFakeEnvFile(dir, { endpoint: aws.endpoint }), aws.endpoint)
    aws.throttle('DescribeInstances', 2)
    aws.throttle('ListServices', 1)
    await env.discover()
    await env.close()
    expect(aws.calls.filter((c) => c.operation === 'DescribeInstances')).toHaveLength(3)
    expect(aws.calls.filter((c) => c.operation === 'ListServices')).toHaveLength(2)
  }, 30_000)
})
