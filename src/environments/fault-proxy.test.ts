import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Topology } from '../api/environment.ts'
import { TargetError } from '../api/errors.ts'
import { FaultProxy } from '../proxy/index.ts'
import { Net, type Upstream } from '../proxy/test-support.ts'
import { cacheLink, CacheLinks, populateProxies, type ProxiedLink } from './fault-proxy.ts'

const topology = (): Topology => ({ azs: ['az-a'], clusters: {}, caches: { cache: { name: 'cache', az: 'az-a' }, other: { name: 'other' } }, services: {} })
const links: ProxiedLink[] = [
  { name: cacheLink('ai', 'cache'), kind: 'cache', from: 'ai', to: 'cache' },
  { name: cacheLink('player', 'cache'), kind: 'cache', from: 'player', to: 'cache' },
  { name: 'route-n1-n2', kind: 'route', from: 'n1', to: 'n2' },
]
const ctx = { runId: 'r1', log: { info: () => {}, warn: () => {} } }

let proxy: FaultProxy
let redis: Upstream
const net = new Net()
const cacheLinks = () =>
  new CacheLinks(
    () => proxy.url,
    () => links,
    topology,
  )

interface ProxyView {
  enabled: boolean
  listen: string
  toxics: { name: string; type: string; stream: string; attributes: Record<string, unknown> }[]
}
const view = async (name: string) => (await (await fetch(`${proxy.url}/proxies/${name}`)).json()) as ProxyView

async function roundTripMs(name: string): Promise<number> {
  const socket = await net.connect((await view(name)).listen)
  const t = performance.now()
  socket.write('x')
  await new Promise((resolve) => socket.once('data', resolve))
  socket.destroy()
  return performance.now() - t
}

beforeAll(async () => {
  proxy = await FaultProxy.start({ listen: '127.0.0.1:0' })
  redis = await net.upstream({ echo: true })
  await populateProxies(proxy.url, [
    ...links.filter((l) => l.kind === 'cache').map((l) => ({ name: l.name, listen: '127.0.0.1:0', upstream: redis.address, enabled: true })),
    { name: 'route-n1-n2', listen: '127.0.0.1:0', upstream: redis.address, enabled: false },
  ])
})

afterAll(async () => {
  await net.closeAll()
  await proxy?.close()
})

describe('cache links through the fault proxy (shared by the local and containers environments)', () => {
  it('populates every proxy, disabling those meant to start disabled', async () => {
    expect((await view('cache-ai-cache')).enabled).toBe(true)
    expect((await view('route-n1-n2')).enabled).toBe(false)
  })

  it('throttles the named services’ links (half the latency each way), and restores exactly that, idempotently', async () => {
    const spec = { cache: 'cache', latencyMs: 200, jitterMs: 20, services: ['ai'] }
    expect(cacheLinks().describeCacheDegradation(spec)).toEqual(['cache-ai-cache: latency 200ms±20'])
    const state = await cacheLinks().degradeCache(spec, ctx)
    const toxics = (await view('cache-ai-cache')).toxics
    expect(toxics.map((t) => [t.type, t.stream, t.attributes.latency, t.attributes.jitter]).sort()).toEqual([
      ['latency', 'downstream', 100, 10],
      ['latency', 'upstream', 100, 10],
    ])
    expect((await view('cache-player-cache')).toxics).toEqual([])
    expect(await roundTripMs('cache-ai-cache')).toBeGreaterThanOrEqual(170)
    await cacheLinks().restoreCache(state, ctx)
    expect((await view('cache-ai-cache')).toxics).toEqual([])
    await cacheLinks().restoreCache(state, ctx) // already gone: no error
  })

  it('caps bandwidth, or takes every link of the cache down and brings it back', async () => {
    const capped = await cacheLinks().degradeCache({ cache: 'cache', rateKBps: 64 }, ctx)
    expect((await view('cache-player-cache')).toxics.map((t) => [t.type, t.attributes.rate])).toEqual([
      ['bandwidth', 64],
      ['bandwidth', 64],
    ])
    await cacheLinks().restoreCache(capped, ctx)
    const down = await cacheLinks().degradeCache({ cache: 'cache', down: true }, ctx)
    expect(cacheLinks().describeCacheDegradation({ cache: 'cache', down: true })).toHaveLength(2)
    expect([(await view('cache-ai-cache')).enabled, (await view('cache-player-cache')).enabled]).toEqual([false, false])
    await cacheLinks().restoreCache(down, ctx)
    expect([(await view('cache-ai-cache')).enabled, (await view('cache-player-cache')).enabled]).toEqual([true, true])
  })

  it('names what it cannot degrade: an unknown cache, a cache no (named) service uses', () => {
    expect(() => cacheLinks().describeCacheDegradation({ cache: 'nope', latencyMs: 1 })).toThrow(TargetError)
    expect(() => cacheLinks().describeCacheDegradation({ cache: 'other', latencyMs: 1 })).toThrow(/no service uses cache other/)
    expect(() => cacheLinks().describeCacheDegradation({ cache: 'cache', latencyMs: 1, services: ['gw'] })).toThrow(/no service of gw uses cache cache/)
  })
})
