/**
 * The layout of a fresh local environment, decided before anything starts: a port for every
 * listener (nodes, caches, Redis Cluster nodes and their gates, load balancers, fault-proxy
 * links, the supervisor), the paths of every file, and each node's nats-server configuration —
 * all written to state.json first, so that `down` finds everything even if `up` fails half-way.
 * With `tls:` somewhere, `writeLayout` also makes the environment's private CA and certificates.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePorts } from '../../util/ports.ts'
import { natsServerConfig } from '../nats-config.ts'
import { clusterCaches, isClusterCache, type CacheConfig } from '../redis-config.ts'
import { planClusterNodes } from '../redis-cluster/plan.ts'
import type { TaskDefinition } from '../ecs/definition.ts'
import { accountsBlock, makePki, natsListenerFiles } from '../tls/secure-nats.ts'
import type { LocalConfig } from './config.ts'
import { gossipLink, linkCount, planLinks, routeLink } from './links.ts'
import type { ClusterNodeState, LocalState, NodeState, RedisClusterState } from './state.ts'

/** ports a Redis Cluster node takes: its own client and bus ports, and the gates in front of them */
const PORTS_PER_CLUSTER_NODE = 4

/** A loopback network of its own for an environment's Redis Cluster nodes (127.<a>.<b>.<node>), so each node's connections carry its name. */
function loopbackBase(): string {
  const [a, b] = randomBytes(2)
  return `127.${1 + (a % 250)}.${b % 250}`
}

export async function layOut(config: LocalConfig, stateDir: string, services: Record<string, TaskDefinition>): Promise<LocalState> {
  const logsDir = join(stateDir, 'logs')
  const nodeList = Object.entries(config.clusters).flatMap(([cluster, c]) => c.nodes.map((n) => ({ cluster, ...n })))
  const azList = [...new Set(nodeList.map((n) => n.az))].sort()
  const singles = Object.entries(config.caches).filter(([, c]) => !isClusterCache(c))
  const clusterPlans = Object.entries(clusterCaches(config.caches)).map(([name, c]) => ({ name, c, nodes: planClusterNodes(name, c, c.azs ?? azList) }))
  const nodesOfCache = (cache: string) => clusterPlans.find((p) => p.name === cache)?.nodes.length ?? 1
  const cacheLinks = Object.values(services).reduce((n, s) => n + s.caches.reduce((m, c) => m + nodesOfCache(c), 0), 0)
  const ports = await freePorts(
    nodeList.length * 3 +
      singles.length +
      clusterPlans.reduce((n, p) => n + p.nodes.length * PORTS_PER_CLUSTER_NODE, 0) +
      Object.keys(services).length +
      2 +
      linkCount({ nodes: nodeList.length, azs: azList, services: [], cacheLinks }),
  )
  const take = () => ports.shift()!
  const nodes: Record<string, NodeState> = {}
  for (const n of nodeList) {
    const dir = join(stateDir, 'nats', n.name)
    nodes[n.name] = {
      cluster: n.cluster,
      name: n.name,
      az: n.az,
      clientPort: take(),
      httpPort: take(),
      clusterPort: take(),
      confFile: join(dir, 'nats.conf'),
      pidFile: join(stateDir, 'pids', `${n.name}.pid`),
      logFile: join(logsDir, `${n.name}.log`),
      storeDir: join(dir, 'store'),
    }
  }
  const caches: LocalState['caches'] = {}
  for (const [name, c] of singles as [string, Extract<CacheConfig, { az?: string }>][]) {
    caches[name] = {
      name,
      az: c.az,
      port: take(),
      pidFile: join(stateDir, 'pids', `redis-${name}.pid`),
      logFile: join(logsDir, `redis-${name}.log`),
      dir: join(stateDir, 'redis', name),
      persistence: c.persistence,
    }
  }
  const redisClusters: Record<string, RedisClusterState> = {}
  for (const { name, c, nodes: plan } of clusterPlans) {
    const base = loopbackBase()
    const clusterNodes: Record<string, ClusterNodeState> = {}
    plan.forEach((p, i) => {
      clusterNodes[p.name] = {
        ...p,
        bindHost: `${base}.${i + 1}`,
        realPort: take(),
        busPort: take(),
        announcePort: take(),
        announceBusPort: take(),
        dir: join(stateDir, 'redis', p.name),
        pidFile: join(stateDir, 'pids', `redis-${p.name}.pid`),
        logFile: join(logsDir, `redis-${p.name}.log`),
      }
    })
    redisClusters[name] = { name, config: c, ...(c.auth ? { password: randomBytes(18).toString('base64url') } : {}), nodes: clusterNodes }
  }
  const lbPorts: Record<string, number> = {}
  for (const [name, s] of Object.entries(services)) if (s.http) lbPorts[name] = take()
  const links = planLinks(
    {
      nodes: Object.values(nodes),
      azs: azList,
      caches: [
        ...Object.values(caches).map((c) => ({ name: c.name, port: c.port })),
        ...Object.values(redisClusters).map((rc) => ({
          name: rc.name,
          nodes: Object.values(rc.nodes).map((n) => ({ name: n.name, host: n.bindHost, port: n.realPort })),
        })),
      ],
      services: Object.entries(services).map(([name, s]) => ({ name, caches: s.caches })),
    },
    take,
  )
  const proxyAdminPort = take()
  const external = process.env.TOXIPROXY_URL
  return {
    version: 1,
    createdAt: new Date().toISOString(),
    stateDir,
    nodes,
    caches,
    redisClusters,
    services,
    lbPorts,
    proxy: { url: external ?? `http://127.0.0.1:${proxyAdminPort}`, embedded: !external, adminPort: proxyAdminPort },
    links,
    supervisorPidFile: join(stateDir, 'pids', 'supervisor.pid'),
    controlPort: take(),
    logsDir,
  }
}

/** Whether the environment needs its private CA: a NATS cluster or a Redis Cluster with tls: true. */
export function needsPki(config: LocalConfig): boolean {
  return Object.values(config.clusters).some((c) => c.tls) || Object.values(clusterCaches(config.caches)).some((c) => c.tls)
}

/**
 * The folders, the private CA and certificates (when anything has tls: true), and each node's
 * nats-server configuration file. Fills in the state's TLS paths and accounts: write the state
 * again afterwards.
 */
export async function writeLayout(state: LocalState, config: LocalConfig): Promise<void> {
  mkdirSync(state.logsDir, { recursive: true })
  mkdirSync(join(state.stateDir, 'pids'), { recursive: true })
  for (const c of Object.values(state.caches)) mkdirSync(c.dir, { recursive: true })
  for (const rc of Object.values(state.redisClusters)) for (const n of Object.values(rc.nodes)) mkdirSync(n.dir, { recursive: true })
  if (needsPki(config)) {
    // every server is dialled on loopback only: its certificate names 127.0.0.1 and localhost
    const pki = await makePki(join(state.stateDir, 'pki'), {
      servers: [
        ...Object.values(state.nodes).map((n) => ({ name: n.name, names: [] })),
        ...Object.values(state.redisClusters).flatMap((rc) => Object.values(rc.nodes).map((n) => ({ name: n.name, names: [] }))),
      ],
      services: Object.keys(state.services),
    })
    state.pki = { dir: pki.dir, caFile: pki.caFile, clients: pki.clients }
    for (const n of Object.values(state.nodes)) if (config.clusters[n.cluster].tls) n.tls = natsListenerFiles(pki, n.name)
    for (const rc of Object.values(state.redisClusters)) {
      if (!rc.config.tls) continue
      rc.caFile = pki.caFile
      for (const n of Object.values(rc.nodes)) n.tls = { certFile: pki.servers[n.name].certFile, keyFile: pki.servers[n.name].keyFile }
    }
  }
  state.accounts = {}
  for (const [cluster, c] of Object.entries(config.clusters)) {
    if (c.accounts) state.accounts[cluster] = accountsBlock(state.services)
    const members = Object.values(state.nodes).filter((n) => n.cluster === cluster)
    for (const n of members) {
      mkdirSync(join(state.stateDir, 'nats', n.name), { recursive: true })
      const proxied = (link: string) => state.links.find((l) => l.name === link)!.listenPort
      writeFileSync(
        n.confFile,
        natsServerConfig({
          name: n.name,
          az: n.az,
          cluster,
          clientListen: `127.0.0.1:${n.clientPort}`,
          httpListen: `127.0.0.1:${n.httpPort}`,
          clusterListen: `127.0.0.1:${n.clusterPort}`,
          // every route through its own proxy; the gossiped address is a disabled proxy, so no direct path exists
          routes: members.filter((m) => m !== n).map((m) => `nats-route://127.0.0.1:${proxied(routeLink(n.name, m.name))}`),
          clusterAdvertise: `127.0.0.1:${proxied(gossipLink(n.name))}`,
          noClientAdvertise: true,
          storeDir: n.storeDir,
          maxMemoryStore: c.maxMemoryStore,
          maxFileStore: c.maxFileStore,
          ...(n.tls ? { tls: n.tls } : {}),
          ...(state.accounts[cluster] ? { accounts: state.accounts[cluster] } : {}),
        }),
      )
    }
  }
}
