/**
 * Drain on SIGTERM, as ECS / docker stop / the local supervisor do it: in-flight work finishes,
 * the process exits 0 on its own within STOP_GRACE_MS. And the broken variant that does not.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { connect as tcpConnect } from 'node:net'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { startNatsServer, type TestServer } from '../test/support/servers.ts'
import { waitFor } from '../src/util/abort.ts'
import { killAllTasks, spawnGateway, spawnTask, http } from './testing/tasks.ts'

const GRACE_MS = 8_000

let nats: TestServer
let nc: NatsConnection

beforeEach(async () => {
  nats = await startNatsServer({ jetstream: false })
  nc = await connect({ servers: nats.url })
})

afterEach(async () => {
  await nc?.close()
  await killAllTasks()
  await nats?.stop()
})

/** Resolves once the (single) inventory task has received `n` requests. */
async function receivedByInventory(n: number): Promise<void> {
  await waitFor(
    `${n} requests in inventory`,
    async () => {
      const reply = await nc.request('$SRV.STATS.inventory', undefined, { timeout: 1_000 })
      return reply.json<{ endpoints: Array<{ num_requests: number }> }>().endpoints[0]!.num_requests >= n
    },
    { timeoutMs: 10_000, intervalMs: 20 },
  )
}

/** One HTTP/1.1 request written on a raw socket that stays open, so a second can follow on it. */
function rawSocket(port: number) {
  const socket = tcpConnect({ host: '127.0.0.1', port })
  let received = ''
  socket.setEncoding('utf8')
  socket.on('data', (d: string) => (received += d))
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  socket.on('error', () => {})
  return {
    send: (path: string) => socket.write(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: keep-alive\r\n\r\n`),
    responses: () =>
      [...received.matchAll(/HTTP\/1\.1 (\d{3})[^\r]*\r\n((?:[^\r]+\r\n)*)\r\n/g)].map((m) => ({ status: Number(m[1]), head: m[2]!.toLowerCase() })),
    closed,
  }
}

describe('drain on SIGTERM', () => {
  it('a service finishes its in-flight requests, then exits 0 within the grace', async () => {
    const gateway = await spawnGateway({ NATS_URL: nats.url, REQUEST_TIMEOUT_MS: '5000' })
    const inventory = await spawnTask('inventory', { NATS_URL: nats.url, WORK_DELAY_MS: '1000', STOP_GRACE_MS: String(GRACE_MS) })
    const requests = Array.from({ length: 5 }, (_, i) => http(`${gateway.url}/v1/inventory/p${i}`))
    await receivedByInventory(5)

    const termAt = Date.now()
    const exit = await inventory.terminate()
    const results = await Promise.all(requests)

    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200])
    expect(exit).toMatchObject({ code: 0, signal: null })
    expect(exit.at - termAt).toBeLessThan(GRACE_MS)
    expect(inventory.logs.find((l) => l.event === 'draining')).toMatchObject({ inFlight: 5 })
    expect(inventory.logs.find((l) => l.event === 'stopped')).toMatchObject({ inFlightAtStop: 5, drainedMs: expect.any(Number), abandoned: 0 })
    // after the drain nobody answers inventory.get any more
    expect((await http(`${gateway.url}/v1/inventory/p1`)).status).toBe(503)
  })

  it('the gateway turns not-ready, refuses new work, finishes in-flight requests, then exits 0', async () => {
    const gateway = await spawnGateway({ NATS_URL: nats.url, REQUEST_TIMEOUT_MS: '5000', STOP_GRACE_MS: String(GRACE_MS) })
    await spawnTask('inventory', { NATS_URL: nats.url, WORK_DELAY_MS: '1500' })
    const requests = Array.from({ length: 3 }, (_, i) => http(`${gateway.url}/v1/inventory/p${i}`))
    const socket = rawSocket(gateway.port)
    socket.send('/v1/inventory/on-socket') // in flight on a socket that stays open
    await receivedByInventory(4)

    const termAt = Date.now()
    gateway.process.kill('SIGTERM')
    await gateway.waitForLog((l) => l.event === 'draining')
    socket.send('/v1/inventory/after-sigterm') // a new request on the kept-alive socket

    // new connections are refused once the listener is closed
    await waitFor(
      'listener closed',
      async () => {
        try {
          await fetch(`${gateway.url}/healthz`)
          return false
        } catch {
          return true
        }
      },
      { timeoutMs: 5_000, intervalMs: 20 },
    )

    const results = await Promise.all(requests)
    expect(results.map((r) => r.status)).toEqual([200, 200, 200])
    await socket.closed
    await gateway.exited
    const onSocket = socket.responses()
    expect(onSocket.map((r) => r.status)).toEqual([200, 503])
    expect(onSocket[1]!.head).toContain('connection: close')

    const exit = await gateway.exited
    expect(exit).toMatchObject({ code: 0, signal: null })
    expect(exit.at - termAt).toBeLessThan(GRACE_MS)
    expect(gateway.logs.find((l) => l.event === 'stopped')).toMatchObject({ inFlightAtStop: 4, abandoned: 0 })
    expect(gateway.logs.find((l) => l.event === 'http-closing')).toMatchObject({ rejectedWhileDraining: 1 })
  })

  it('gives up at the grace deadline and still exits by itself before the SIGKILL', async () => {
    const inventory = await spawnTask('inventory', { NATS_URL: nats.url, WORK_DELAY_MS: '20000', STOP_GRACE_MS: '1500' })
    const pending = nc.request('inventory.get', new Uint8Array([10, 2, 112, 49]), { timeout: 2_500 }).catch((err: Error) => err)
    await receivedByInventory(1)
    const termAt = Date.now()
    const exit = await inventory.terminate()
    expect(exit).toMatchObject({ code: 0, signal: null })
    expect(exit.at - termAt).toBeLessThan(1_500)
    expect(inventory.logs.find((l) => l.event === 'stopped')).toMatchObject({ inFlightAtStop: 1, abandoned: 1, timedOut: true })
    expect(await pending).toBeInstanceOf(Error)
  })
})

describe('broken on purpose: GAMEDAY_BROKEN=no-drain', () => {
  it('exits at once on SIGTERM and the in-flight requests are lost', async () => {
    const gateway = await spawnGateway({ NATS_URL: nats.url, REQUEST_TIMEOUT_MS: '1500' })
    const inventory = await spawnTask('inventory', { NATS_URL: nats.url, WORK_DELAY_MS: '1000', GAMEDAY_BROKEN: 'no-drain' })
    const requests = Array.from({ length: 3 }, (_, i) => http(`${gateway.url}/v1/inventory/p${i}`))
    await receivedByInventory(3)

    const exit = await inventory.terminate()
    expect(exit).toMatchObject({ code: 0 })
    expect(inventory.logs.find((l) => l.event === 'stopped')).toMatchObject({ inFlightAtStop: 3, dropped: 3 })
    const results = await Promise.all(requests)
    expect(results.map((r) => r.status)).toEqual([504, 504, 504])
  })
})
