/**
 * The production shape of a containers environment, decided at `up` before any container starts:
 * the private CA and every certificate (NATS nodes are dialled by their names on the network
 * and by 127.0.0.1 from the host; Redis Cluster nodes by their names too and, through the fault
 * proxy, by the proxy's host), the Redis passwords, and what each service's tasks and the
 * controller get to use them. Written to the environment's folder on the host (host-state.ts).
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { GAMEDAY_IDENTITY } from '../nats-accounts.ts'
import { clusterCaches } from '../redis-config.ts'
import { planClusterNodes } from '../redis-cluster/plan.ts'
import { makePki, natsListenerFiles, natsTlsOptions, natsTlsVariables } from '../tls/secure-nats.ts'
import type { ContainersConfig } from './config.ts'
import { claimHostState, writeSecureState, type SecureState } from './host-state.ts'
import type { CacheLinkSpec } from './protocol.ts'

export function azsOf(config: ContainersConfig): string[] {
  return [...new Set(Object.values(config.clusters).flatMap((c) => c.nodes.map((n) => n.az)))].sort()
}

/** The CA, certificates and passwords of an environment that asks for TLS or AUTH; written to its folder on the host. */
export async function makeSecureState(envId: string, source: string, config: ContainersConfig, services: string[], linkHost: string): Promise<SecureState> {
  const dir = claimHostState(envId, source)
  const azs = azsOf(config)
  const state: SecureState = { nats: {}, redis: {} }
  const natsNodes = Object.values(config.clusters).flatMap((c) => (c.tls ? c.nodes : []))
  const tlsClusters = Object.entries(clusterCaches(config.caches)).filter(([, c]) => c.tls)
  if (natsNodes.length || tlsClusters.length) {
    const pki = await makePki(join(dir, 'pki'), {
      servers: [
        ...natsNodes.map((n) => ({ name: n.name, names: [n.name] })),
        // a task dials a node through its link on the fault proxy: that host is a name it is dialled by
        ...tlsClusters.flatMap(([name, c]) => planClusterNodes(name, c, c.azs ?? azs).map((n) => ({ name: n.name, names: [n.name, linkHost] }))),
      ],
      services,
    })
    state.pki = { dir: pki.dir, caFile: pki.caFile, clients: pki.clients }
    for (const n of natsNodes) state.nats[n.name] = natsListenerFiles(pki, n.name)
    for (const [name, c] of tlsClusters)
      state.redis[name] = {
        caFile: pki.caFile,
        nodes: Object.fromEntries(
          planClusterNodes(name, c, c.azs ?? azs).map((n) => [n.name, { certFile: pki.servers[n.name].certFile, keyFile: pki.servers[n.name].keyFile }]),
        ),
      }
  }
  for (const [name, c] of Object.entries(clusterCaches(config.caches)))
    if (c.auth) (state.redis[name] ??= { nodes: {} }).password = randomBytes(18).toString('base64url')
  writeSecureState(dir, state)
  return state
}

/** What each service's tasks get beyond the standard variables: TLS files (host paths, the same inside), a cluster's NAT map and password. */
export function serviceVariables(
  config: ContainersConfig,
  secure: SecureState | undefined,
  links: CacheLinkSpec[],
  linkHost: string,
): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {}
  const tlsNats = Object.values(config.clusters).some((c) => c.tls)
  for (const [service, s] of Object.entries(config.services)) {
    const vars: Record<string, string> = tlsNats && secure?.pki ? natsTlsVariables(secure.pki.caFile, secure.pki.clients[service]) : {}
    const cache = s.caches[0]
    const mine = links.filter((l) => l.from === service && l.to === cache && l.node)
    if (mine.length) {
      vars.REDIS_NAT_MAP = JSON.stringify(Object.fromEntries(mine.map((l) => [l.upstream, `${linkHost}:${l.listenPort}`])))
      const r = secure?.redis[cache]
      if (r?.password) vars.REDIS_PASSWORD = r.password
      if (r?.caFile) vars.REDIS_CA_FILE = r.caFile
    }
    if (Object.keys(vars).length) out[service] = vars
  }
  return out
}

/** The stand-in's readiness checks connect as gameday. */
export function observerOptions(config: ContainersConfig, secure: SecureState | undefined): Record<string, unknown> | undefined {
  const tlsNats = Object.values(config.clusters).some((c) => c.tls)
  return tlsNats && secure?.pki ? natsTlsOptions(secure.pki.caFile, secure.pki.clients[GAMEDAY_IDENTITY]) : undefined
}

/** What an image task needs bind-mounted to read its variables' files: the CA and the client certificates. */
export function taskBinds(secure: SecureState | undefined): string[] {
  return secure?.pki ? [secure.pki.caFile, join(secure.pki.dir, 'clients')] : []
}
