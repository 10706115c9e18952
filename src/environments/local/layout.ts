/**
 * The layout of a fresh local environment, decided before anything starts: a port for every
 * listener (nodes, caches, load balancers, fault-proxy links, the supervisor), the paths of
 * every file, and each node's nats-server configuration — all written to state.json first, so
 * that `down` finds everything even if `up` fails half-way.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePorts } from '../../util/ports.ts'
import { natsServerConfig } from '../nats-config.ts'
import type { TaskDefinition } from '../ecs/definition.ts'
import type { LocalConfig } from './config.ts'
import { gossipLink, linkCount, planLinks, routeLink } from './links.ts'
import type { LocalState, NodeState } from './state.ts'

export async function layOut(config: LocalConfig, stateDir: string, services: Record<string, TaskDefinition>): Promise<LocalState> {
  const logsDir = join(stateDir, 'logs')
  const nodeList = Object.entries(config.clusters).flatMap(([cluster, c]) => c.nodes.map((n) => ({ cluster, ...n })))
  const azList = [...new Set(nodeList.map((n) => n.az))].sort()
  const cacheUses = Object.values(services).reduce((n, s) => n + s.caches.length, 0)
  const ports = await freePorts(
    nodeList.length * 3 +
      Object.keys(config.caches).length +
      Object.keys(services).length +
      2 +
      linkCount({ nodes: nodeList.length, azs: azList, services: [], cacheUses }),
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
  for (const [name, c] of Object.entries(config.caches)) {
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
  const lbPorts: Record<string, number> = {}
  for (const [name, s] of Object.entries(services)) if (s.http) lbPorts[name] = take()
  const links = planLinks(
    {
      nodes: Object.values(nodes),
      azs: azList,
      caches: Object.values(caches).map((c) => ({ name: c.name, port: c.port })),
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
    services,
    lbPorts,
    proxy: { url: external ?? `http://127.0.0.1:${proxyAdminPort}`, embedded: !external, adminPort: proxyAdminPort },
    links,
    supervisorPidFile: join(stateDir, 'pids', 'supervisor.pid'),
    controlPort: take(),
    logsDir,
  }
}

/** The folders and each node's nats-server configuration file. */
export function writeLayout(state: LocalState, config: LocalConfig): void {
  mkdirSync(state.logsDir, { recursive: true })
  mkdirSync(join(state.stateDir, 'pids'), { recursive: true })
  for (const c of Object.values(state.caches)) mkdirSync(c.dir, { recursive: true })
  for (const [cluster, c] of Object.entries(config.clusters)) {
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
        }),
      )
    }
  }
}
