/**
 * How a local task reaches NATS and Redis — always through its proxied paths on the fault proxy —
 * and the variables that say so: NATS_URL (its own AZ's nodes first), REDIS_URL, and in the
 * production shape the TLS files, the Redis Cluster's NAT map and its password (../ecs/variables.ts).
 * Also how the supervisor's own readiness checks reach NATS (directly, as gameday).
 */
import type { SchedulerOptions } from '../ecs/scheduler.ts'
import { GAMEDAY_IDENTITY } from '../nats-accounts.ts'
import { natsTlsOptions, natsTlsVariables } from '../tls/secure-nats.ts'
import type { LocalState } from './state.ts'

type Access = Pick<SchedulerOptions, 'natsUrls' | 'redisUrl' | 'variables' | 'observerNats' | 'observerNatsOptions'>

export function taskAccess(state: LocalState): Access {
  const nodes = Object.values(state.nodes)
  const tlsNats = nodes.some((n) => n.tls)
  const firstCache = (service: string) => state.services[service]?.caches[0]
  const cacheLinks = (service: string, cache: string) => state.links.filter((l) => l.kind === 'cache' && l.from === service && l.to === cache)
  return {
    // nodes of its own AZ first (it connects in order): AZ affinity, as deployed
    natsUrls: (az) =>
      state.links
        .filter((l) => l.kind === 'client' && l.from === az)
        .sort((a, b) => Number(state.nodes[b.to]?.az === az) - Number(state.nodes[a.to]?.az === az))
        .map((l) => `nats://127.0.0.1:${l.listenPort}`),
    // a single server's link; a cluster's links to every node, the seeds of its client
    redisUrl: (service) => {
      const cache = firstCache(service)
      if (!cache) return undefined
      const scheme = state.redisClusters[cache]?.config.tls ? 'rediss' : 'redis'
      const urls = cacheLinks(service, cache).map((l) => `${scheme}://127.0.0.1:${l.listenPort}`)
      return urls.length ? urls.join(',') : undefined
    },
    variables: ({ service }) => {
      const vars: Record<string, string> = tlsNats && state.pki ? natsTlsVariables(state.pki.caFile, state.pki.clients[service]) : {}
      const cache = firstCache(service)
      const rc = cache ? state.redisClusters[cache] : undefined
      if (cache && rc) {
        // the address each node announces (its gate) → this service's link to it
        const natMap = Object.fromEntries(cacheLinks(service, cache).map((l) => [`127.0.0.1:${rc.nodes[l.node!].announcePort}`, `127.0.0.1:${l.listenPort}`]))
        vars.REDIS_NAT_MAP = JSON.stringify(natMap)
        if (rc.password) vars.REDIS_PASSWORD = rc.password
        if (rc.caFile) vars.REDIS_CA_FILE = rc.caFile
      }
      return vars
    },
    observerNats: nodes.map((n) => `nats://127.0.0.1:${n.clientPort}`),
    ...(tlsNats && state.pki ? { observerNatsOptions: natsTlsOptions(state.pki.caFile, state.pki.clients[GAMEDAY_IDENTITY]) } : {}),
  }
}
