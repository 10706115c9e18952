/**
 * The admin API of the fault proxy, driven through the official `toxiproxy-node-client`, against
 * real TCP traffic on loopback.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Toxiproxy } from 'toxiproxy-node-client'
import { FaultProxy } from './index.ts'
import { Net, receive } from './test-support.ts'

let fp: FaultProxy
let toxiproxy: Toxiproxy
const net = new Net()

beforeAll(async () => {
  fp = await FaultProxy.start({ listen: '127.0.0.1:0', seed: 1 })
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

async function echoes(listen: string): Promise<void> {
  const client = await net.connect(listen)
  const got = receive(client)
  client.write('ping')
  expect((await got.atLeast(4)).toString()).toBe('ping')
  client.destroy()
}

describe('fault proxy admin API (toxiproxy-node-client)', () => {
  it('reports a version', async () => {
    expect(JSON.parse(await toxiproxy.getVersion())).toEqual({ version: expect.any(String) })
  })

  it('creates a proxy on port 0, reports the bound port, and forwards to the upstream', async () => {
    const upstream = await net.upstream({ echo: true })
    const proxy = await toxiproxy.createProxy({ name: 'echo', listen: '127.0.0.1:0', upstream: upstream.address })
    expect(proxy.name).toBe('echo')
    expect(proxy.upstream).toBe(upstream.address)
    expect(proxy.enabled).toBe(true)
    expect(proxy.listen).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(proxy.listen).not.toBe('127.0.0.1:0')
    await echoes(proxy.listen)

    const again = await toxiproxy.get('echo')
    expect(again.toJson()).toEqual({ name: 'echo', listen: proxy.listen, upstream: upstream.address, enabled: true })
    const all = await toxiproxy.getAll()
    expect(Object.keys(all)).toEqual(['echo'])
  })

  it('answers 404 for an unknown proxy or toxic, 409 for a taken name, 400 for bad input', async () => {
    const upstream = await net.upstream({ echo: true })
    await expect(toxiproxy.get('nope')).rejects.toThrow(/status code 404/)
    const proxy = await toxiproxy.createProxy({ name: 'p', listen: '127.0.0.1:0', upstream: upstream.address })
    await expect(toxiproxy.createProxy({ name: 'p', listen: '127.0.0.1:0', upstream: upstream.address })).rejects.toThrow(/status code 409/)
    await expect(toxiproxy.createProxy({ name: 'q', listen: '127.0.0.1:0', upstream: '' })).rejects.toThrow(/status code 400/)
    await expect(toxiproxy.createProxy({ name: 'q', listen: 'nonsense', upstream: upstream.address })).rejects.toThrow(/status code 400/)
    await expect(proxy.getToxic('nope')).rejects.toThrow(/status code 404/)

    const latency = { name: 'lat', type: 'latency' as const, stream: 'downstream' as const, toxicity: 1, attributes: { latency: 10, jitter: 0 } }
    await proxy.addToxic(latency)
    await expect(proxy.addToxic(latency)).rejects.toThrow(/status code 409/)
    await expect(proxy.addToxic({ ...latency, name: 'x', type: 'bogus' as never })).rejects.toThrow(/status code 400/)
    await expect(proxy.addToxic({ ...latency, name: 'x', stream: 'sideways' as never })).rejects.toThrow(/status code 400/)
    await expect(proxy.addToxic({ ...latency, name: 'x', attributes: { latency: -5, jitter: 0 } })).rejects.toThrow(/status code 400/)
    await expect(proxy.addToxic({ ...latency, name: 'x', attributes: { latency: '5' as never, jitter: 0 } })).rejects.toThrow(/status code 400/)
    await expect(proxy.addToxic({ ...latency, name: 'x', toxicity: 2 })).rejects.toThrow(/status code 400/)

    const unknownProxy = (await toxiproxy.get('p')).toJson()
    await proxy.remove()
    await expect(toxiproxy.get('p')).rejects.toThrow(/status code 404/)
    const { Proxy } = await import('toxiproxy-node-client')
    const gone = new Proxy(toxiproxy, { ...unknownProxy, toxics: [] })
    await expect(gone.addToxic(latency)).rejects.toThrow(/status code 404/)
    await expect(gone.remove()).rejects.toThrow(/status code 404/)
  })

  it('lists, shows, updates and removes toxics with Toxiproxy defaults', async () => {
    const upstream = await net.upstream({ echo: true })
    const proxy = await toxiproxy.createProxy({ name: 'p', listen: '127.0.0.1:0', upstream: upstream.address })
    // the client's test helper sends neither name nor stream: Toxiproxy names it <type>_<stream>
    const added = await proxy.addToxic({ type: 'latency', attributes: { latency: 100 } } as never)
    expect(added.toJson()).toEqual({ name: 'latency_downstream', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 100, jitter: 0 } })
    await proxy.addToxic({ name: 'cut', type: 'limit_data', stream: 'upstream', toxicity: 0.5, attributes: { bytes: 10 } })

    const shown = await toxiproxy.get('p')
    expect(shown.toJson()).toMatchObject({ name: 'p' })
    const toxic = await proxy.getToxic<{ latency: number; jitter: number }>('latency_downstream')
    const updated = await toxic.update({ ...toxic.toJson(), attributes: { latency: 20, jitter: 5 } })
    expect(updated.attributes).toEqual({ latency: 20, jitter: 5 })
    expect((await proxy.getToxic('latency_downstream')).attributes).toEqual({ latency: 20, jitter: 5 })
    await updated.remove()
    await expect(proxy.getToxic('latency_downstream')).rejects.toThrow(/status code 404/)
    expect((await proxy.getToxic('cut')).toJson()).toEqual({ name: 'cut', type: 'limit_data', stream: 'upstream', toxicity: 0.5, attributes: { bytes: 10 } })
  })

  it('disables a proxy (connections closed, new ones refused) and enables it again on the same address', async () => {
    const upstream = await net.upstream({ echo: true })
    const proxy = await toxiproxy.createProxy({ name: 'p', listen: '127.0.0.1:0', upstream: upstream.address })
    const client = await net.connect(proxy.listen)
    const got = receive(client)
    client.write('a')
    await got.atLeast(1)

    const down = await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream })
    expect(down.enabled).toBe(false)
    await got.closed
    await expect(net.connect(proxy.listen)).rejects.toMatchObject({ code: 'ECONNREFUSED' })

    const up = await down.update({ enabled: true, listen: proxy.listen, upstream: proxy.upstream })
    expect(up.enabled).toBe(true)
    expect(up.listen).toBe(proxy.listen)
    await echoes(proxy.listen)
  })

  it('moves a proxy to another upstream', async () => {
    const first = await net.upstream({ echo: true })
    const second = await net.upstream()
    const proxy = await toxiproxy.createProxy({ name: 'p', listen: '127.0.0.1:0', upstream: first.address })
    const moved = await proxy.update({ enabled: true, listen: proxy.listen, upstream: second.address })
    expect(moved.upstream).toBe(second.address)
    await net.connect(moved.listen)
    await second.nextAccepted()
    expect(first.accepted).toHaveLength(0)
  })

  it('populates proxies, keeping unchanged ones (with their toxics) and replacing changed ones', async () => {
    const a = await net.upstream({ echo: true })
    const b = await net.upstream({ echo: true })
    const created = await toxiproxy.populate([
      { name: 'a', listen: '127.0.0.1:0', upstream: a.address },
      { name: 'b', listen: '127.0.0.1:0', upstream: b.address },
    ])
    expect(Object.keys(created).sort()).toEqual(['a', 'b'])
    await echoes(created.a!.listen)
    await echoes(created.b!.listen)
    await created.a!.addToxic({ name: 'slow', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 1, jitter: 0 } })

    const again = await toxiproxy.populate([
      { name: 'a', listen: created.a!.listen, upstream: a.address },
      { name: 'b', listen: created.b!.listen, upstream: a.address },
    ])
    expect(again.a!.listen).toBe(created.a!.listen)
    expect((await toxiproxy.get('a')).toJson()).toMatchObject({ upstream: a.address })
    await expect(again.a!.getToxic('slow')).resolves.toMatchObject({ name: 'slow' })
    expect(again.b!.upstream).toBe(a.address)

    await expect(toxiproxy.populate([{ name: 'c', listen: '127.0.0.1:0', upstream: '' }])).rejects.toThrow(/status code 400/)
    await expect(toxiproxy.get('c')).rejects.toThrow(/status code 404/)
  })

  it('resets: every proxy enabled again, every toxic gone', async () => {
    const upstream = await net.upstream({ echo: true })
    const p = await toxiproxy.createProxy({ name: 'p', listen: '127.0.0.1:0', upstream: upstream.address })
    const q = await toxiproxy.createProxy({ name: 'q', listen: '127.0.0.1:0', upstream: upstream.address })
    await p.addToxic({ name: 't', type: 'timeout', stream: 'upstream', toxicity: 1, attributes: { timeout: 0 } })
    await q.update({ enabled: false, listen: q.listen, upstream: q.upstream })
    await toxiproxy.reset()
    const all = await toxiproxy.getAll()
    expect(all.q!.enabled).toBe(true)
    await expect(all.p!.getToxic('t')).rejects.toThrow(/status code 404/)
    await echoes(p.listen)
    await echoes(q.listen)
  })
})

describe('fault proxy embedding', () => {
  it('refuses a non-loopback admin address unless allowRemote', async () => {
    await expect(FaultProxy.start({ listen: '0.0.0.0:0' })).rejects.toThrow(/non-loopback/)
    const remote = await FaultProxy.start({ listen: '0.0.0.0:0', allowRemote: true })
    await remote.close()
  })

  it('tells which peer each connection comes from', async () => {
    const upstream = await net.upstream({ echo: true })
    const proxy = await toxiproxy.createProxy({ name: 'p', listen: '127.0.0.1:0', upstream: upstream.address })
    const client = await net.connect(proxy.listen)
    const server = await upstream.nextAccepted()
    // the upstream may accept before the proxy hears its connect: wait for the proxy's side
    while (fp.connections('p').length === 0) await new Promise((r) => setTimeout(r, 5))
    const [info] = fp.connections('p')
    expect(info).toMatchObject({
      client: `${client.localAddress}:${client.localPort}`,
      upstreamLocal: `${server.remoteAddress}:${server.remotePort}`,
      upstream: upstream.address,
    })
  })
})

describe('fault proxy wire format (what Toxiproxy clients in other languages check)', () => {
  it('uses Toxiproxy status codes and error bodies', async () => {
    const upstream = await net.upstream()
    const post = (path: string, body: unknown) =>
      fetch(`${fp.url}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } })
    const created = await post('/proxies', { name: 'w', listen: '127.0.0.1:0', upstream: upstream.address })
    expect(created.status).toBe(201)
    const proxy = (await created.json()) as object
    expect(Object.keys(proxy)).toEqual(['name', 'listen', 'upstream', 'enabled', 'toxics'])
    const toxic = await post('/proxies/w/toxics', { type: 'slicer', attributes: { average_size: 10 } })
    expect(toxic.status).toBe(200) // Toxiproxy answers 200 here, and its Go client insists on it
    expect(await toxic.json()).toEqual({
      attributes: { average_size: 10, size_variation: 0, delay: 0 },
      name: 'slicer_downstream',
      type: 'slicer',
      stream: 'downstream',
      toxicity: 1,
    })
    const missing = await fetch(`${fp.url}/proxies/nope`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({ error: 'proxy not found', status: 404 })
    const badJson = await fetch(`${fp.url}/proxies`, { method: 'POST', body: '{' })
    expect(badJson.status).toBe(400)
    expect((await fetch(`${fp.url}/proxies/w/toxics/slicer_downstream`, { method: 'DELETE' })).status).toBe(204)
    expect((await fetch(`${fp.url}/reset`, { method: 'POST' })).status).toBe(204)
    expect((await fetch(`${fp.url}/proxies/w`, { method: 'DELETE' })).status).toBe(204)
    expect((await fetch(`${fp.url}/proxies`, { headers: { 'User-Agent': 'Mozilla/5.0' } })).status).toBe(403)
  })
})
