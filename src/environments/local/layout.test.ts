/**
 * The local layout of the production shape, without starting anything: a Redis Cluster's nodes on
 * loopback addresses of their own behind gates, a link per service and node whose address the
 * tasks' NAT map puts in place of the announced one, the private CA with each NATS listener's own
 * certificate, the accounts block in every node's configuration, and the variables a task gets.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { taskDefinitions } from '../service-config.ts'
import { LocalConfigSchema } from './config.ts'
import { layOut, needsPki, writeLayout } from './layout.ts'
import { taskAccess } from './task-access.ts'

const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

const NODES = [
  { name: 'n1', az: 'az-a' },
  { name: 'n2', az: 'az-b' },
  { name: 'n3', az: 'az-c' },
]

function config(secure: boolean) {
  return LocalConfigSchema.parse({
    kind: 'local',
    clusters: { core: { nodes: NODES, ...(secure ? { tls: true, accounts: true } : {}) } },
    caches: { cache: { mode: 'cluster', shards: 3, replicasPerShard: 1, ...(secure ? { auth: true, tls: true } : {}) }, plain: {} },
    services: {
      gateway: { entry: 'target/gateway.ts', http: true, calls: ['player-state'] },
      'player-state': { entry: 'target/services/player-state.ts', caches: ['cache'] },
      inventory: { entry: 'target/services/inventory.ts', caches: ['plain'] },
    },
  })
}

async function laidOut(secure: boolean) {
  const c = config(secure)
  const stateDir = mkdtempSync(join(tmpdir(), 'gameday-layout-'))
  dirs.push(stateDir)
  const state = await layOut(c, stateDir, taskDefinitions(c.services, join(stateDir, 'env.yaml')))
  await writeLayout(state, c)
  return { c, state }
}

describe('local layout of a Redis Cluster', () => {
  it('puts each node on a loopback address of its own behind two gates, and gives a service a link per node', async () => {
    const { c, state } = await laidOut(false)
    expect(needsPki(c)).toBe(false)
    const rc = state.redisClusters.cache
    const nodes = Object.values(rc.nodes)
    expect(nodes.map((n) => `${n.name} ${n.az} ${n.initialRole}`)).toEqual([
      'cache-s1-0 az-a primary',
      'cache-s1-1 az-b replica',
      'cache-s2-0 az-b primary',
      'cache-s2-1 az-c replica',
      'cache-s3-0 az-c primary',
      'cache-s3-1 az-a replica',
    ])
    expect(new Set(nodes.map((n) => n.bindHost)).size).toBe(6)
    for (const n of nodes) expect(n.bindHost).toMatch(/^127\.\d+\.\d+\.\d+$/)
    expect(rc.password).toBeUndefined()
    expect(state.caches).toHaveProperty('plain')
    const links = state.links.filter((l) => l.kind === 'cache' && l.from === 'player-state')
    expect(links.map((l) => l.node)).toEqual(nodes.map((n) => n.name))
    expect(links.every((l) => l.upstreamHost === rc.nodes[l.node!].bindHost && l.upstreamPort === rc.nodes[l.node!].realPort)).toBe(true)
    const ports = [
      ...nodes.flatMap((n) => [n.realPort, n.announcePort, n.announceBusPort]),
      ...state.links.map((l) => l.listenPort),
      ...Object.values(state.nodes).flatMap((n) => [n.clientPort, n.httpPort, n.clusterPort]),
    ]
    expect(new Set(ports).size).toBe(ports.length)
  })

  it("a task's REDIS_URL lists its links to every node, and REDIS_NAT_MAP maps each announced address to one; a single cache keeps one URL", async () => {
    const { state } = await laidOut(false)
    const access = taskAccess(state)
    const urls = access.redisUrl('player-state')!.split(',')
    expect(urls).toHaveLength(6)
    const natMap = JSON.parse(access.variables!({ id: 'player-state-1', service: 'player-state', az: 'az-a' }).REDIS_NAT_MAP) as Record<string, string>
    for (const n of Object.values(state.redisClusters.cache.nodes)) {
      const link = state.links.find((l) => l.from === 'player-state' && l.node === n.name)!
      expect(natMap[`127.0.0.1:${n.announcePort}`]).toBe(`127.0.0.1:${link.listenPort}`)
      expect(urls).toContain(`redis://127.0.0.1:${link.listenPort}`)
    }
    expect(access.redisUrl('inventory')).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/)
    expect(access.variables!({ id: 'inventory-1', service: 'inventory', az: 'az-a' })).toEqual({})
    expect(access.observerNatsOptions).toBeUndefined()
  })
})

describe('local layout of the secure shape', () => {
  it('makes the CA, a certificate per listener of every NATS node, and writes TLS and accounts into every configuration', async () => {
    const { c, state } = await laidOut(true)
    expect(needsPki(c)).toBe(true)
    expect(Object.keys(state.pki!.clients).sort()).toEqual(['gameday', 'gateway', 'inventory', 'player-state'])
    for (const n of Object.values(state.nodes)) {
      expect(n.tls!.client.certFile).not.toBe(n.tls!.routes.certFile)
      expect(readFileSync(n.tls!.client.certFile, 'utf8')).toBe(readFileSync(n.tls!.routes.certFile, 'utf8'))
      const conf = readFileSync(n.confFile, 'utf8')
      expect(conf).toContain(`cert_file: ${JSON.stringify(n.tls!.client.certFile)}`)
      expect(conf).toContain('verify_and_map: true')
      expect(conf).toContain('PLAYER_STATE: {')
      // the gateway imports what it calls, and nothing else
      const gateway = conf.slice(conf.indexOf('  GATEWAY: {'), conf.indexOf('  PLAYER_STATE: {'))
      expect(gateway).toContain('{ service: { account: PLAYER_STATE, subject: "player-state.>" } }')
      expect(gateway).not.toContain('INVENTORY')
    }
    const rc = state.redisClusters.cache
    expect(rc.password).toMatch(/^[\w-]{20,}$/)
    expect(rc.caFile).toBe(state.pki!.caFile)
    for (const n of Object.values(rc.nodes)) expect(n.tls?.certFile).toContain(`${n.name}.pem`)
  })

  it('a task gets the CA and its own client certificate, the Redis password and CA, rediss:// links; the stand-in connects as gameday', async () => {
    const { state } = await laidOut(true)
    const access = taskAccess(state)
    const vars = access.variables!({ id: 'player-state-1', service: 'player-state', az: 'az-a' })
    expect(vars).toMatchObject({
      NATS_CA_FILE: state.pki!.caFile,
      NATS_CERT_FILE: state.pki!.clients['player-state'].certFile,
      NATS_KEY_FILE: state.pki!.clients['player-state'].keyFile,
      REDIS_PASSWORD: state.redisClusters.cache.password,
      REDIS_CA_FILE: state.pki!.caFile,
    })
    expect(
      access
        .redisUrl('player-state')!
        .split(',')
        .every((u) => u.startsWith('rediss://127.0.0.1:')),
    ).toBe(true)
    expect(access.observerNatsOptions).toEqual({ tls: { caFile: state.pki!.caFile, ...state.pki!.clients.gameday } })
  })
})
