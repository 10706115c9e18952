/**
 * The containers environment itself, on one environment for the file: up to a healthy cluster,
 * tasks wired with AZ affinity and through the fault proxy, a Redis throttle on it, found again
 * from a fresh object (by label), node and task controls, a partition proved by /routez, and down
 * leaving nothing behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NodeInfo, PartitionSpec } from '../../src/api/environment.ts'
import { observeCluster, fetchJson } from '../../src/nats/monitor.ts'
import { waitFor } from '../../src/util/abort.ts'
import { dockerClient } from '../../src/environments/containers/docker.ts'
import { planCacheLinks, type ContainersEnvironment } from '../../src/environments/containers/environment.ts'
import { leftovers, quiet, shippedConfig, sweepEnv, sweepTestLeftovers, testEnvId, testEnvironment } from './support.ts'

const envId = testEnvId()
let env: ContainersEnvironment

const node = (name: string): NodeInfo => env.topology().clusters.core.nodes.find((n) => n.name === name)!
const ctx = { runId: 'test', log: quiet }

beforeAll(async () => {
  await sweepTestLeftovers()
  env = testEnvironment(envId)
  await env.up(quiet)
})

afterAll(async () => {
  try {
    await env?.down(quiet)
  } finally {
    await sweepEnv(envId)
  }
})

describe('the containers environment', () => {
  it('comes up with a healthy 5-node cluster, a JetStream meta leader, every task ready behind the load balancer', async () => {
    const view = await observeCluster(env, 'core')
    expect(view.healthy).toBe(true)
    expect(view.fullMesh).toBe(true)
    expect(view.metaLeader).toMatch(/^n[1-5]$/)
    const jsz = await fetchJson<{ meta_cluster?: { leader?: string; cluster_size?: number } }>(`${env.endpoints.natsMonitor('core', 'n1')}/jsz`)
    expect(jsz.meta_cluster).toMatchObject({ leader: view.metaLeader, cluster_size: 5 })
    for (const [service, { desired }] of Object.entries(env.topology().services)) {
      const tasks = await env.tasks.list(service)
      expect(
        tasks.filter((t) => t.state === 'RUNNING'),
        service,
      ).toHaveLength(desired)
    }
    const res = await fetch(`${env.endpoints.gateway()}/v1/inventory/player-1`, { signal: AbortSignal.timeout(5000) })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ playerId: 'player-1', servedBy: expect.stringMatching(/^inventory-\d+$/) })
  })

  it('gives each task its own AZ’s NATS nodes first — its connections go to a node of its AZ — and Redis only through its service’s link on the controller’s fault proxy', async () => {
    const { docker } = await dockerClient()
    const azOf = Object.fromEntries(env.topology().clusters.core.nodes.map((n) => [n.name, n.az]))
    const links = planCacheLinks(shippedConfig().config)
    const running = (await env.taskRecords()).filter((t) => t.state === 'RUNNING')
    expect(new Set(running.map((t) => t.az))).toEqual(new Set(['az-a', 'az-b']))
    // who is connected where, by the tasks' addresses on the network
    const connectedTo = new Map<string, string[]>()
    for (const n of Object.keys(azOf)) {
      const connz = await fetchJson<{ connections?: { ip: string }[] }>(`${env.endpoints.natsMonitor('core', n)}/connz?limit=1024`)
      for (const c of connz.connections ?? []) connectedTo.set(c.ip, [...(connectedTo.get(c.ip) ?? []), n])
    }
    for (const t of running) {
      const vars = Object.fromEntries(
        ((await docker.getContainer(t.container!).inspect()).Config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
      )
      const urls = vars.NATS_URL.split(',').map((u) => new URL(u).hostname)
      expect(urls, t.id).toHaveLength(5)
      const own = urls.filter((n) => azOf[n] === t.az)
      expect(urls.slice(0, own.length), t.id).toEqual(own)
      expect(connectedTo.get(t.host!)?.length, t.id).toBeGreaterThan(0)
      expect(
        connectedTo.get(t.host!)!.map((n) => azOf[n]),
        t.id,
      ).toEqual(connectedTo.get(t.host!)!.map(() => t.az))
      const link = links.find((l) => l.from === t.service)
      expect(vars.REDIS_URL, t.id).toBe(link ? `redis://controller:${link.listenPort}` : undefined)
    }
    const proxies = await fetchJson<Record<string, { listen: string; upstream: string; enabled: boolean }>>(`${env.proxyUrl()}/proxies`)
    expect(Object.keys(proxies).sort()).toEqual(['cache-ai-integration-cache', 'cache-player-state-cache'])
    expect(proxies['cache-player-state-cache']).toMatchObject({ upstream: 'cache:6379', enabled: true })
  })

  it('throttles the link of the named service to Redis on the fault proxy, and restores exactly that', async () => {
    const spec = { cache: 'cache', latencyMs: 300, services: ['player-state'] }
    expect(env.network!.describeCacheDegradation(spec)).toEqual(['cache-player-state-cache: latency 300ms±0'])
    const state = await env.network!.degradeCache(spec, ctx)
    const toxics = async (name: string) =>
      (await fetchJson<{ toxics: { type: string; attributes: { latency?: number } }[] }>(`${env.proxyUrl()}/proxies/${name}`)).toxics
    try {
      expect((await toxics('cache-player-state-cache')).map((t) => [t.type, t.attributes.latency])).toEqual([
        ['latency', 150],
        ['latency', 150],
      ])
      expect(await toxics('cache-ai-integration-cache')).toEqual([])
    } finally {
      await env.network!.restoreCache(state, ctx)
    }
    expect(await toxics('cache-player-state-cache')).toEqual([])
  })

  it('is found again by label from a fresh object, as another process would; up() is then a no-op', async () => {
    const fresh = testEnvironment(envId)
    expect(await fresh.isUp()).toBe(true)
    expect(fresh.endpoints.natsServers('core')).toEqual(env.endpoints.natsServers('core'))
    const t = performance.now()
    await fresh.up(quiet)
    expect(performance.now() - t).toBeLessThan(5000)
    const status = await fresh.status()
    expect(status.up).toBe(true)
    expect(status.lines.filter((l) => l.what.startsWith('nats ') && l.state === 'healthy')).toHaveLength(5)
    expect(status.lines.some((l) => / meta-leader$/.test(l.detail ?? ''))).toBe(true)
    expect(status.lines.filter((l) => l.what.startsWith('task ') && l.state === 'running')).toHaveLength(8)
    expect(await testEnvironment(testEnvId()).isUp()).toBe(false)
  })

  it('kills the meta leader (docker kill), elects another, starts the same container again with its state', async () => {
    const leader = (await observeCluster(env, 'core')).metaLeader!
    const victim = node(leader)
    const { docker } = await dockerClient()
    const container = docker.getContainer(`gameday-${envId}-${leader}`)
    const before = await container.inspect()
    await env.nodes.kill(victim)
    expect(await env.nodes.isRunning(victim)).toBe(false)
    const next = await waitFor(
      'a new meta leader',
      async () => {
        const m = (await observeCluster(env, 'core')).metaLeader
        return m && m !== leader ? m : undefined
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    )
    expect(next).not.toBe(leader)
    await env.nodes.start(victim)
    expect(await env.nodes.isRunning(victim)).toBe(true)
    // the same container (its writable layer holds the JetStream store), restarted
    const after = await container.inspect()
    expect(after.Id).toBe(before.Id)
    expect(after.State.StartedAt).not.toBe(before.State.StartedAt)
    await waitFor('a healthy cluster', async () => (await observeCluster(env, 'core')).healthy, { timeoutMs: 60_000, intervalMs: 250 })
  })

  it('pauses a node (docker pause): running but silent; resumes it', async () => {
    const n5 = node('n5')
    await env.nodes.pause!(n5)
    expect(await env.nodes.isRunning(n5)).toBe(true)
    await expect(fetchJson(`${env.endpoints.natsMonitor('core', 'n5')}/varz`, 500)).rejects.toThrow()
    await env.nodes.resume!(n5)
    await waitFor('n5 to answer', async () => fetchJson(`${env.endpoints.natsMonitor('core', 'n5')}/varz`, 500), { timeoutMs: 10_000, intervalMs: 100 })
    await waitFor('a healthy cluster', async () => (await observeCluster(env, 'core')).healthy, { timeoutMs: 60_000, intervalMs: 250 })
  })

  it('replaces a killed task and a stopped one, as ECS replaces stopped tasks', async () => {
    const before = await env.tasks.list('inventory')
    expect(before).toHaveLength(2)
    await env.tasks.kill(before[0])
    await env.tasks.stop(before[1], { graceMs: 5000 })
    await env.tasks.waitForDesired('inventory', 60_000)
    const after = await env.tasks.list('inventory')
    expect(after.filter((t) => t.state === 'RUNNING')).toHaveLength(2)
    expect(after.map((t) => t.id)).not.toContain(before[0].id)
    expect(after.map((t) => t.id)).not.toContain(before[1].id)
    const history = await env.tasks.history!('inventory')
    const stopped = history.find((t) => t.id === before[1].id)
    expect(stopped).toMatchObject({ state: 'STOPPED', exitCode: 0, stopReport: { event: 'stopped' } })
    expect(history.find((t) => t.id === before[0].id)).toMatchObject({ state: 'STOPPED', exitCode: 137 })
  })

  it('partitions az-b from the rest by dropping packets: /routez on each side lists no route across, then a full mesh after heal', async () => {
    const spec: PartitionSpec = {
      cluster: 'core',
      groups: [
        ['n3', 'n4'],
        ['n1', 'n2', 'n5'],
      ],
      azs: ['az-b'],
    }
    const state = await env.network!.partition(spec, ctx)
    try {
      expect((await env.dropRules('n3')).filter((r) => r.includes('-j DROP')).length).toBeGreaterThan(0)
      // NATS 2.9.10 may keep a route it keeps writing to (nats-server#4014): end those, as the fault does
      await env.network!.severConnections!(state, ctx)
      const cut = await waitFor(
        '/routez to show the cut',
        async () => {
          const view = await observeCluster(env, 'core')
          const routes = Object.fromEntries(view.nodes.map((n) => [n.node, n.routesTo]))
          const crossing = view.nodes.flatMap((n) =>
            n.routesTo.filter((peer) => ['n3', 'n4'].includes(n.node) !== ['n3', 'n4'].includes(peer)).map((p) => `${n.node}→${p}`),
          )
          return view.nodes.every((n) => n.reachable) && crossing.length === 0 ? routes : undefined
        },
        { timeoutMs: 20_000, intervalMs: 250 },
      )
      expect(cut).toEqual({ n1: ['n2', 'n5'], n2: ['n1', 'n5'], n3: ['n4'], n4: ['n3'], n5: ['n1', 'n2'] })
      // still cut a moment later: new connections time out on dropped packets, they are not refused
      await new Promise((r) => setTimeout(r, 3000))
      const later = await observeCluster(env, 'core')
      expect(later.nodes.find((n) => n.node === 'n1')!.routesTo).toEqual(['n2', 'n5'])
      expect(later.nodes.find((n) => n.node === 'n3')!.routesTo).toEqual(['n4'])
    } finally {
      await env.network!.heal(state, ctx)
    }
    expect(await env.dropRules('n3')).toEqual([])
    const healed = await waitFor(
      'a full mesh and a meta leader',
      async () => {
        const view = await observeCluster(env, 'core')
        return view.fullMesh && view.metaLeader ? view : undefined
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    )
    expect(healed.nodes.map((n) => n.routesTo.length)).toEqual([4, 4, 4, 4, 4])
  })

  it('goes down leaving no container and no network with its label', async () => {
    await env.down(quiet)
    expect(await leftovers(envId)).toEqual({ containers: [], networks: [] })
    expect(await env.isUp()).toBe(false)
  })
})
