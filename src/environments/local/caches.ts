/**
 * The local environment's `caches` part: redis-server processes, killed by pid, started again
 * (empty) by the supervisor; and for a Redis Cluster, the cluster controls (../redis-cluster/control.ts)
 * over its nodes — killed by pid, started again by the supervisor with their data and node id,
 * isolated by the supervisor's gates.
 */
import type { CacheControl } from '../../api/environment.ts'
import { TargetError } from '../../api/errors.ts'
import { waitFor } from '../../util/abort.ts'
import { canConnect } from '../../util/ports.ts'
import { clusterControl, type ClusterRuntime } from '../redis-cluster/control.ts'
import type { SupervisorControl } from './control.ts'
import { isAlive, killHard, readPid } from './processes.ts'
import { credentialsOf, reachableNodes } from './redis-clusters.ts'
import type { LocalState, RedisClusterState } from './state.ts'

const REDIS = process.env.GAMEDAY_REDIS_SERVER ?? 'redis-server'

function clusterRuntime(rc: RedisClusterState, control: SupervisorControl): ClusterRuntime {
  const node = (name: string) => rc.nodes[name]
  const path = (name: string, action: string) => `/caches/${encodeURIComponent(rc.name)}/nodes/${encodeURIComponent(name)}/${action}`
  return {
    nodes: reachableNodes(rc),
    creds: credentialsOf(rc),
    killNode: async (name) => killHard(readPid(node(name).pidFile)),
    startNode: async (name) => {
      const n = node(name)
      if (isAlive(readPid(n.pidFile), REDIS)) return
      await control(path(name, 'start'))
      await waitFor(`Redis Cluster node ${name} to listen`, async () => canConnect(n.realPort, n.bindHost, 500), { timeoutMs: 10_000, intervalMs: 50 })
    },
    isRunning: async (name) => isAlive(readPid(node(name).pidFile), REDIS),
    isolateNode: async (name) => (await control(path(name, 'isolate'))) as { cutFrom: string[] },
    rejoinNode: async (name) => void (await control(path(name, 'rejoin'))),
    describe: (action, name) => {
      const n = node(name)
      switch (action) {
        case 'kill':
          return [`SIGKILL redis-server ${name} (${n.az})`]
        case 'start':
          return [`start redis-server ${name} again with its data and node id`]
        case 'isolate':
          return [`cut ${name} (${n.az}) from the other nodes of ${rc.name}: its gates refuse them, theirs refuse it; clients still reach it`]
        case 'rejoin':
          return [`let ${name} and the other nodes of ${rc.name} reach each other again`]
        default:
          return [`CLUSTER FAILOVER${action === 'failover' ? '' : action === 'failover-force' ? ' FORCE' : ' TAKEOVER'} on ${name} (${n.az})`]
      }
    },
  }
}

export function localCaches(state: () => LocalState, control: SupervisorControl): CacheControl {
  const cacheState = (cache: string) => {
    const c = state().caches[cache]
    if (!c) {
      if (state().redisClusters?.[cache]) throw new TargetError(`cache ${cache} is a Redis Cluster: kill one of its nodes (redis.kill-primary), not the cache`)
      throw new TargetError(`no cache ${cache}`)
    }
    return c
  }
  return {
    kill: async (cache) => killHard(readPid(cacheState(cache).pidFile)),
    start: async (cache) => {
      const c = cacheState(cache)
      if (isAlive(readPid(c.pidFile))) return
      await control(`/caches/${encodeURIComponent(cache)}/start`)
      await waitFor(`redis ${cache} to listen`, async () => canConnect(c.port, '127.0.0.1', 500), { timeoutMs: 10_000, intervalMs: 50 })
    },
    isRunning: async (cache) => isAlive(readPid(state().caches[cache]?.pidFile ?? '')),
    ...clusterControl(() => Object.fromEntries(Object.values(state().redisClusters ?? {}).map((rc) => [rc.name, clusterRuntime(rc, control)]))),
  }
}
