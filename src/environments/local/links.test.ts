import { describe, expect, it } from 'vitest'
import { linksAcross, planLinks, linkCount } from './links.ts'

const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'].map((name, i) => ({
  name,
  az: ['az-a', 'az-a', 'az-b', 'az-b', 'az-c'][i],
  clientPort: 1000 + i,
  clusterPort: 2000 + i,
}))
const input = {
  nodes,
  azs: ['az-a', 'az-b', 'az-c'],
  caches: [{ name: 'cache', port: 6379 }],
  services: [
    { name: 'ai', caches: ['cache'] },
    { name: 'gw', caches: [] },
  ],
}

describe('local network links', () => {
  it('plans one proxied path per route direction, per AZ and node, per service and cache, and a blackhole per node', () => {
    let port = 30000
    const links = planLinks(input, () => port++)
    expect(links).toHaveLength(linkCount({ nodes: 5, azs: input.azs, services: [], cacheLinks: 1 }))
    expect(links.filter((l) => l.kind === 'route')).toHaveLength(20)
    expect(links.filter((l) => l.kind === 'client')).toHaveLength(15)
    expect(links.find((l) => l.name === 'route-n1-n5')).toMatchObject({ upstreamPort: 2004, enabled: true })
    expect(links.find((l) => l.name === 'gossip-n3')).toMatchObject({ upstreamPort: 2002, enabled: false })
    expect(links.find((l) => l.name === 'cache-ai-cache')).toMatchObject({ upstreamPort: 6379 })
    expect(new Set(links.map((l) => l.listenPort)).size).toBe(links.length)
  })

  it('cuts every route and client path across an AZ partition, both ways, and nothing inside a side', () => {
    const links = planLinks(
      input,
      (() => {
        let p = 1
        return () => p++
      })(),
    )
    const side = (x: string, kind: 'node' | 'az') => (kind === 'node' ? (x === 'n5' ? 0 : 1) : x === 'az-c' ? 0 : 1)
    const cut = linksAcross(links, side, false)
    const names = cut.map((c) => c.link.name).sort()
    expect(names.filter((n) => n.startsWith('route-'))).toEqual([
      'route-n1-n5',
      'route-n2-n5',
      'route-n3-n5',
      'route-n4-n5',
      'route-n5-n1',
      'route-n5-n2',
      'route-n5-n3',
      'route-n5-n4',
    ])
    expect(names.filter((n) => n.startsWith('client-'))).toEqual([
      'client-az-a-n5',
      'client-az-b-n5',
      'client-az-c-n1',
      'client-az-c-n2',
      'client-az-c-n3',
      'client-az-c-n4',
    ])
    expect(cut.every((c) => c.streams.length === 2)).toBe(true)
  })

  it('cuts one direction only when asked: what group 0 sends', () => {
    const links = planLinks(
      input,
      (() => {
        let p = 1
        return () => p++
      })(),
    )
    const side = (x: string, kind: 'node' | 'az') => (kind === 'node' ? (x === 'n5' ? 0 : 1) : x === 'az-c' ? 0 : 1)
    const cut = linksAcross(links, side, true)
    expect(cut.find((c) => c.link.name === 'route-n5-n1')?.streams).toEqual(['upstream'])
    expect(cut.find((c) => c.link.name === 'route-n1-n5')?.streams).toEqual(['downstream'])
  })
})
