/**
 * Every toxic's effect on real loopback traffic, set up through the official
 * `toxiproxy-node-client`. Timing bounds are loose (a loaded 2-core machine); the benchmark
 * (`npm run bench:proxy`) measures accuracy.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Toxiproxy, type Proxy } from 'toxiproxy-node-client'
import type { Socket } from 'node:net'
import { FaultProxy } from './index.ts'
import { Net, quiet, receive, type Received, type Upstream } from './test-support.ts'

let fp: FaultProxy
let toxiproxy: Toxiproxy
const net = new Net()

beforeAll(async () => {
  fp = await FaultProxy.start({ listen: '127.0.0.1:0', seed: 7 })
  toxiproxy = new Toxiproxy(fp.url)
})

afterEach(async () => {
  for (const proxy of Object.values(await toxiproxy.getAll())) await proxy.remove()
  await net.closeAll()
})

afterAll(async () => {
  await fp?.close()
  await net.closeAll()
})

interface Pair {
  client: Socket
  server: Socket
  /** what the client receives (from the server) */
  atClient: Received
  /** what the server receives (from the client) */
  atServer: Received
}

async function setup(opts: { echo?: boolean } = {}): Promise<{ proxy: Proxy; upstream: Upstream }> {
  const upstream = await net.upstream(opts)
  const proxy = await toxiproxy.createProxy({ name: 'p', listen: '127.0.0.1:0', upstream: upstream.address })
  return { proxy, upstream }
}

async function pair(proxy: Proxy, upstream: Upstream): Promise<Pair> {
  const client = await net.connect(proxy.listen)
  const atClient = receive(client)
  const server = await upstream.nextAccepted()
  const atServer = receive(server)
  return { client, server, atClient, atServer }
}

function toxic<T>(name: string, type: string, stream: 'upstream' | 'downstream', attributes: T, toxicity = 1) {
  return { name, type: type as never, stream, toxicity, attributes }
}

/** time for `bytes` written on `from` to arrive at `at` (ms) */
async function oneWay(from: Socket, at: Received, payload = 'x'): Promise<number> {
  const expected = at.length + Buffer.byteLength(payload)
  const t0 = performance.now()
  from.write(payload)
  await at.atLeast(expected)
  return performance.now() - t0
}

async function oneWays(from: Socket, at: Received, n = 3): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < n; i++) times.push(await oneWay(from, at))
  return times
}

/** not held back: the quickest of a few tries is fast (one try alone can be slow on a busy machine) */
async function expectFast(from: Socket, at: Received): Promise<void> {
  expect(Math.min(...(await oneWays(from, at)))).toBeLessThan(30)
}

/** delayed by `ms`: every try at least that much, the quickest within 30 ms of it */
async function expectDelayed(from: Socket, at: Received, ms: number): Promise<void> {
  const times = await oneWays(from, at)
  for (const t of times) expect(t).toBeGreaterThanOrEqual(ms - 1)
  expect(Math.min(...times)).toBeLessThan(ms + 30)
}

describe('fault proxy toxics on real traffic', () => {
  it('forwards both ways, half-closes, and keeps a long stream intact while toxics come and go', async () => {
    const { proxy, upstream } = await setup({ echo: true })
    const { client, atClient } = await pair(proxy, upstream)
    const total = 4 << 20
    const data = Buffer.alloc(total)
    for (let i = 0; i < total; i++) data[i] = (i * 7 + (i >> 11)) & 0xff
    let sent = 0
    const toggles = (async () => {
      for (let i = 0; i < 6; i++) {
        await proxy.addToxic(toxic('lat', 'latency', i % 2 ? 'upstream' : 'downstream', { latency: 2, jitter: 1 }))
        await quiet(15)
        await toxiproxy
          .get('p')
          .then((p) => p.getToxic('lat'))
          .then((t) => t.remove())
        await quiet(5)
      }
    })()
    while (sent < total) {
      const piece = data.subarray(sent, sent + 65536)
      sent += piece.length
      if (!client.write(piece)) await new Promise((r) => client.once('drain', r))
    }
    await toggles
    client.end()
    const echoed = await atClient.atLeast(total, 20_000)
    expect(echoed.equals(data)).toBe(true)
    await atClient.ended // the server's FIN came back through the proxy after ours went through
  })

  it('latency downstream delays server → client only', async () => {
    const { proxy, upstream } = await setup()
    const { client, server, atClient, atServer } = await pair(proxy, upstream)
    await proxy.addToxic(toxic('lat', 'latency', 'downstream', { latency: 100, jitter: 0 }))
    await expectDelayed(server, atClient, 100)
    await expectFast(client, atServer)
  })

  it('latency upstream delays client → server only', async () => {
    const { proxy, upstream } = await setup()
    await proxy.addToxic(toxic('lat', 'latency', 'upstream', { latency: 100, jitter: 0 }))
    const { client, server, atClient, atServer } = await pair(proxy, upstream) // toxic already there
    await expectDelayed(client, atServer, 100)
    await expectFast(server, atClient)
  })

  it('latency applies to existing connections when added, and stops (flushing held data) when removed', async () => {
    const { proxy, upstream } = await setup({ echo: true })
    const { client, atClient } = await pair(proxy, upstream)
    await expectFast(client, atClient)
    const added = await proxy.addToxic(toxic('lat', 'latency', 'downstream', { latency: 60, jitter: 0 }))
    await expectDelayed(client, atClient, 60)
    // data held by the toxic when it goes is delivered at once
    const updated = await added.update({ ...added.toJson(), attributes: { latency: 2000, jitter: 0 } })
    const before = atClient.length
    client.write('held')
    await quiet(50)
    expect(atClient.length).toBe(before)
    const t0 = performance.now()
    await updated.remove()
    await atClient.atLeast(before + 4)
    expect(performance.now() - t0).toBeLessThan(500) // not the 2 s the toxic asked for
    await expectFast(client, atClient)
  })

  it('jitter spreads latency within latency ± jitter, and two latency toxics add up', async () => {
    const { proxy, upstream } = await setup({ echo: true })
    await proxy.addToxic(toxic('lat', 'latency', 'downstream', { latency: 40, jitter: 20 }))
    const { client, atClient } = await pair(proxy, upstream)
    const samples: number[] = []
    for (let i = 0; i < 10; i++) samples.push(await oneWay(client, atClient))
    for (const s of samples) expect(s).toBeGreaterThanOrEqual(19)
    expect([...samples].sort((a, b) => a - b)[5]).toBeLessThan(60 + 30) // uniform in [20, 60): median ~40
    expect(Math.max(...samples) - Math.min(...samples)).toBeGreaterThan(3)
    await (await proxy.getToxic('lat')).remove()
    await proxy.addToxic(toxic('a', 'latency', 'upstream', { latency: 30, jitter: 0 }))
    await proxy.addToxic(toxic('b', 'latency', 'downstream', { latency: 30, jitter: 0 }))
    await expectDelayed(client, atClient, 60)
  })

  it('toxicity 0 leaves connections alone', async () => {
    const { proxy, upstream } = await setup({ echo: true })
    await proxy.addToxic(toxic('lat', 'latency', 'downstream', { latency: 500, jitter: 0 }, 0))
    await proxy.addToxic(toxic('cut', 'timeout', 'upstream', { timeout: 0 }, 0))
    const { client, atClient } = await pair(proxy, upstream)
    await expectFast(client, atClient)
  })

  it('bandwidth holds the rate of a connection', async () => {
    const { proxy, upstream } = await setup()
    await proxy.addToxic(toxic('bw', 'bandwidth', 'downstream', { rate: 100 })) // 100 KB/s
    const { server, atClient } = await pair(proxy, upstream)
    const t0 = performance.now()
    server.write(Buffer.alloc(50_000, 1))
    await atClient.atLeast(50_000)
    const seconds = (performance.now() - t0) / 1000
    expect(seconds).toBeGreaterThanOrEqual(0.45) // ≤ 111 KB/s
    expect(seconds).toBeLessThan(1)
  })

  it('bandwidth with shared: true paces all connections of the proxy together', async () => {
    const { proxy, upstream } = await setup()
    const added = await proxy.addToxic(toxic('bw', 'bandwidth', 'downstream', { rate: 100, shared: true }))
    expect(added.attributes).toEqual({ rate: 100, shared: true })
    const a = await pair(proxy, upstream)
    const b = await pair(proxy, upstream)
    const t0 = performance.now()
    a.server.write(Buffer.alloc(25_000, 1))
    b.server.write(Buffer.alloc(25_000, 2))
    await Promise.all([a.atClient.atLeast(25_000), b.atClient.atLeast(25_000)])
    const seconds = (performance.now() - t0) / 1000
    expect(seconds).toBeGreaterThanOrEqual(0.45) // 50 KB at 100 KB/s in all, not 25 KB each
    expect(seconds).toBeLessThan(1)
  })

  it('slow_close delays the close, not the data', async () => {
    const { proxy, upstream } = await setup()
    await proxy.addToxic(toxic('sc', 'slow_close', 'downstream', { delay: 150 }))
    const { server, atClient } = await pair(proxy, upstream)
    await expectFast(server, atClient)
    const t0 = performance.now()
    server.end()
    const endedAt = await atClient.ended
    expect(endedAt - t0).toBeGreaterThanOrEqual(145)
    expect(endedAt - t0).toBeLessThan(400)
  })

  it('timeout drops data and closes the connection after the timeout', async () => {
    const { proxy, upstream } = await setup()
    await proxy.addToxic(toxic('to', 'timeout', 'downstream', { timeout: 150 }))
    const t0 = performance.now()
    const { client, server, atClient, atServer } = await pair(proxy, upstream)
    server.write('dropped')
    client.write('passes') // upstream has no toxic
    await atServer.atLeast(6)
    const closed = await atClient.closed
    expect(closed.at - t0).toBeGreaterThanOrEqual(145)
    expect(closed.at - t0).toBeLessThan(500)
    expect(atClient.length).toBe(0)
    await atServer.closed
  })

  it('timeout 0 on both streams freezes connections like a partition; removing it closes the frozen ones', async () => {
    const { proxy, upstream } = await setup()
    const old = await pair(proxy, upstream)
    await expectFast(old.client, old.atServer)
    const before = old.atServer.length
    await proxy.addToxic(toxic('cut_up', 'timeout', 'upstream', { timeout: 0 }))
    await proxy.addToxic(toxic('cut_down', 'timeout', 'downstream', { timeout: 0 }))

    // existing connection: nothing passes, nothing closes
    old.client.write('lost up')
    old.server.write('lost down')
    // new connection: accepted (the upstream sees it), but nothing passes either
    const fresh = await pair(proxy, upstream)
    fresh.client.write('lost too')
    fresh.server.write('lost as well')
    const outcome = await Promise.race([old.atClient.closed, old.atServer.closed, fresh.atClient.closed, fresh.atServer.closed, quiet(300)])
    expect(outcome).toBe('timeout')
    expect(old.atServer.length).toBe(before)
    expect(old.atClient.length).toBe(0)
    expect(fresh.atServer.length).toBe(0)
    expect(fresh.atClient.length).toBe(0)

    // heal: as Toxiproxy, connections that lost bytes are closed; new ones work
    await (await proxy.getToxic('cut_up')).remove()
    await (await proxy.getToxic('cut_down')).remove()
    await Promise.all([old.atClient.closed, old.atServer.closed, fresh.atClient.closed, fresh.atServer.closed])
    const healed = await pair(proxy, upstream)
    await expectFast(healed.client, healed.atServer)
    await expectFast(healed.server, healed.atClient)
  })

  it('timeout 0 with hold: true holds data (and FINs) during the partition and lets it flow after', async () => {
    const { proxy, upstream } = await setup()
    const old = await pair(proxy, upstream)
    const cut = { timeout: 0, hold: true }
    const added = await proxy.addToxic(toxic('cut_up', 'timeout', 'upstream', cut))
    expect(added.attributes).toEqual(cut)
    await proxy.addToxic(toxic('cut_down', 'timeout', 'downstream', cut))

    old.client.write('up')
    old.server.write('down')
    const fresh = await pair(proxy, upstream)
    fresh.client.write('fresh up')
    fresh.client.end()
    const outcome = await Promise.race([old.atClient.closed, old.atServer.closed, fresh.atServer.ended, quiet(300)])
    expect(outcome).toBe('timeout')
    expect([old.atServer.length, old.atClient.length, fresh.atServer.length]).toEqual([0, 0, 0])

    // more than the proxy holds in memory (1 MiB): it stops reading, the rest waits in the kernel
    const bulk = Buffer.alloc(3 << 20, 7)
    old.client.write(bulk)
    await quiet(100)

    await (await proxy.getToxic('cut_up')).remove()
    await (await proxy.getToxic('cut_down')).remove()
    const got = await old.atServer.atLeast(2 + bulk.length)
    expect(got.subarray(0, 2).toString()).toBe('up')
    expect(got.subarray(2).equals(bulk)).toBe(true)
    expect((await old.atClient.atLeast(4)).toString()).toBe('down')
    await fresh.atServer.ended
    expect(fresh.atServer.bytes.toString()).toBe('fresh up')
    await expectFast(old.client, old.atServer) // the old connection lives on
  })

  it('reset_peer resets both sides (ECONNRESET), after its timeout', async () => {
    const { proxy, upstream } = await setup()
    await proxy.addToxic(toxic('rst', 'reset_peer', 'upstream', { timeout: 0 }))
    const now = await pair(proxy, upstream)
    now.client.write('hello')
    expect((await now.atClient.closed).code).toBe('ECONNRESET')
    expect((await now.atServer.closed).code).toBe('ECONNRESET')
    expect(now.atServer.length).toBe(0)

    const later = await toxiproxy.get('p')
    await (await later.getToxic('rst')).update({ ...toxic('rst', 'reset_peer', 'upstream', { timeout: 150 }) })
    const delayed = await pair(proxy, upstream)
    const t0 = performance.now()
    delayed.client.write('hello')
    const closed = await delayed.atClient.closed
    expect(closed.code).toBe('ECONNRESET')
    expect(closed.at - t0).toBeGreaterThanOrEqual(145)
    expect(closed.at - t0).toBeLessThan(500)
  })

  it('slicer cuts data in small delayed pieces, intact', async () => {
    const { proxy, upstream } = await setup()
    await proxy.addToxic(toxic('sl', 'slicer', 'downstream', { average_size: 10, size_variation: 4, delay: 3000 }))
    const { server, atClient } = await pair(proxy, upstream)
    const data = Buffer.from(Array.from({ length: 200 }, (_, i) => i))
    const t0 = performance.now()
    server.write(data)
    const got = await atClient.atLeast(200)
    expect(got.equals(data)).toBe(true)
    expect(atClient.chunks.length).toBeGreaterThanOrEqual(5) // ~20 slices; TCP may merge a few
    expect(performance.now() - t0).toBeGreaterThanOrEqual(30) // ~20 × 3 ms
  })

  it('limit_data lets that many bytes through, then closes', async () => {
    const { proxy, upstream } = await setup()
    await proxy.addToxic(toxic('lim', 'limit_data', 'downstream', { bytes: 100 }))
    const { server, atClient, atServer } = await pair(proxy, upstream)
    server.write(Buffer.alloc(60, 1))
    server.write(Buffer.alloc(240, 2))
    await atClient.closed
    expect(atClient.length).toBe(100)
    expect(atClient.bytes.subarray(0, 60).every((b) => b === 1)).toBe(true)
    await atServer.closed

    await (await proxy.getToxic('lim')).remove()
    await proxy.addToxic(toxic('lim_up', 'limit_data', 'upstream', { bytes: 10 }))
    const up = await pair(proxy, upstream)
    up.client.write('0123456789abcdef')
    await up.atServer.ended
    expect(up.atServer.bytes.toString()).toBe('0123456789')
  })
})
