import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { connect } from '@nats-io/transport-node'
import { canConnect, freePort } from '../util/ports.ts'
import { waitFor } from '../util/abort.ts'
import { cacheOf, nodeTargets, resolveNodes, resolveTasks, pickCount, targetNodes } from './select-targets.ts'
import { MemoryEnvironment } from '../../test/support/memory-environment.ts'
import { createRng } from '../util/rng.ts'
import type { FaultContext } from './fault.ts'
import type { Topology } from './environment.ts'
import { TargetError } from './errors.ts'

const ctx = (seed = 1, topology?: Topology): FaultContext => ({
  env: new MemoryEnvironment(topology),
  runId: 't',
  rng: createRng(seed),
  log: { info() {}, warn() {} },
  signal: new AbortController().signal,
  evidence() {},
  checkpoint() {},
  dryRun: true,
})
const names = (nodes: { name: string }[]) => nodes.map((n) => n.name)

describe('target selection', () => {
  it('selects by name, by AZ, and every node by default', async () => {
    expect(names(await resolveNodes(ctx(), { cluster: 'core', nodes: ['n2', 'n5'] }))).toEqual(['n2', 'n5'])
    expect(names(await resolveNodes(ctx(), { cluster: 'core', az: 'az-b' }))).toEqual(['n3', 'n4'])
    expect(names(await resolveNodes(ctx(), { az: ['az-a', 'az-c'] }))).toEqual(['n1', 'n2', 'n5'])
    expect(names(await resolveNodes(ctx(), {}))).toHaveLength(5)
  })

  it('picks count or percent at random, reproducibly from the seed', async () => {
    const a = names(await resolveNodes(ctx(7), { count: 2 }))
    expect(a).toHaveLength(2)
    expect(names(await resolveNodes(ctx(7), { count: 2 }))).toEqual(a)
    const seen = new Set<string>()
    for (let s = 0; s < 20; s++) seen.add(names(await resolveNodes(ctx(s), { count: 1 }))[0])
    expect(seen.size).toBeGreaterThan(2) // not always the same node
    expect(names(await resolveNodes(ctx(), { az: 'az-b', percent: 50 }))).toHaveLength(1)
  })

  it('rounds percentages up and refuses a count above what there is', () => {
    expect(pickCount(5, { percent: 30 })).toBe(2)
    expect(pickCount(5, { percent: 1 })).toBe(1)
    expect(() => pickCount(3, { count: 9 }, 'nodes')).toThrow(/count: 9 asks for more than the 3 nodes/) // refused, never silently reduced
  })

  it('refuses unknown names with a typed error that says what exists', async () => {
    await expect(resolveNodes(ctx(), { cluster: 'edge' })).rejects.toThrow(/no cluster "edge".*has: core/)
    await expect(resolveNodes(ctx(), { az: 'az-z' })).rejects.toThrow(TargetError)
    await expect(resolveNodes(ctx(), { nodes: ['n9'] })).rejects.toThrow(/no node n9/)
    await expect(resolveTasks(ctx(), { service: 'billing' })).rejects.toThrow(/no service "billing"/)
  })

  it('picks tasks of a service by percent, seeded', async () => {
    const a = (await resolveTasks(ctx(3), { service: 'api', percent: 50 })).map((t) => t.id)
    expect(a).toHaveLength(2)
    expect((await resolveTasks(ctx(3), { service: 'api', percent: 50 })).map((t) => t.id)).toEqual(a)
  })
})

describe('cacheOf and targetNodes', () => {
  const node = (cluster: string, name: string) => ({ cluster, name, az: 'az-a' })
  const twoOfEach: Topology = {
    azs: ['az-a'],
    clusters: { core: { name: 'core', nodes: [node('core', 'n1')] }, edge: { name: 'edge', nodes: [node('edge', 'n1')] } },
    caches: { sessions: { name: 'sessions' }, scores: { name: 'scores' } },
    services: {},
  }

  it('takes the only cache, or the one named, and refuses a missing or unknown name saying what there is', () => {
    expect(cacheOf(ctx(), {})).toBe('cache')
    expect(cacheOf(ctx(1, twoOfEach), { cache: 'scores' })).toBe('scores')
    expect(() => cacheOf(ctx(1, twoOfEach), {})).toThrow('name the cache: target: { cache: ... } (has: sessions, scores)')
    expect(() => cacheOf(ctx(1, twoOfEach), { cache: 'nope' })).toThrow(TargetError)
  })

  it('finds the nodes of resolved targets in their own cluster, where another cluster has a node of the same name', () => {
    const edge = nodeTargets([node('edge', 'n1')], {})
    expect(targetNodes(ctx(1, twoOfEach), edge)).toEqual([node('edge', 'n1')])
    expect(targetNodes(ctx(1, twoOfEach), nodeTargets([node('core', 'n1')], {}))).toEqual([node('core', 'n1')])
    expect(targetNodes(ctx(), [])).toEqual([])
  })
})

describe('role: most-clients', () => {
  const servers: { stop(): Promise<void> }[] = []
  const clients: { close(): Promise<void> }[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close()
    for (const s of servers.splice(0)) await s.stop()
  })

  /** nats-server with monitoring, one per node name */
  async function monitored(): Promise<{ url: string; monitor: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'gameday-most-clients-'))
    const [port, http] = [await freePort(), await freePort()]
    const conf = join(dir, 'nats.conf')
    writeFileSync(conf, `listen: 127.0.0.1:${port}\nhttp: 127.0.0.1:${http}\n`)
    const child = spawn('nats-server', ['-c', conf], { stdio: 'ignore' })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    servers.push({ stop: async () => (child.kill('SIGKILL'), await exited, rmSync(dir, { recursive: true, force: true })) })
    await waitFor('nats-server', () => canConnect(port), { timeoutMs: 10_000, intervalMs: 50 })
    return { url: `nats://127.0.0.1:${port}`, monitor: `http://127.0.0.1:${http}` }
  }

  it("picks the node holding the most clients' connections, not counting Gameday's own", async () => {
    const [a, b] = [await monitored(), await monitored()]
    // a: two service connections; b: one service connection and three of Gameday's probes
    for (const [server, name] of [
      [a, 'inventory/inventory-1'],
      [a, 'gateway/gateway-1'],
      [b, 'inventory/inventory-2'],
      [b, 'gameday-probe-1'],
      [b, 'gameday-probe-2'],
      [b, 'gameday-probe-3'],
    ] as const)
      clients.push(await connect({ servers: server.url, name }))
    const env = new MemoryEnvironment()
    env.endpoints.natsMonitor = ((_c: string, node: string) => ({ n1: a.monitor, n2: b.monitor })[node] ?? 'http://127.0.0.1:1') as never
    const c = { ...ctx(), env }
    expect(names(await resolveNodes(c, { cluster: 'core', nodes: ['n1', 'n2'], role: 'most-clients' }))).toEqual(['n1'])
    // a tie: one of them, picked from the seed, the same one again with the same seed
    clients.push(await connect({ servers: b.url, name: 'gateway/gateway-2' }))
    const tie = names(await resolveNodes({ ...ctx(5), env }, { cluster: 'core', nodes: ['n1', 'n2'], role: 'most-clients' }))
    expect(tie).toHaveLength(1)
    expect(names(await resolveNodes({ ...ctx(5), env }, { cluster: 'core', nodes: ['n1', 'n2'], role: 'most-clients' }))).toEqual(tie)
    // unreachable monitoring everywhere: nothing to count, said plainly
    await expect(resolveNodes(c, { cluster: 'core', nodes: ['n3', 'n4'], role: 'most-clients' }).catch((e) => e)).resolves.toEqual(expect.any(TargetError))
  })
})
