/**
 * The containers environment's `caches` part: Redis containers, killed and started again (empty);
 * and for a Redis Cluster, the cluster controls over its node containers (redis-clusters.ts).
 */
import { connect } from 'node:net'
import type { CacheControl, Endpoints } from '../../api/environment.ts'
import { TargetError } from '../../api/errors.ts'
import { waitFor } from '../../util/abort.ts'
import { clusterCaches } from '../redis-config.ts'
import { clusterControl } from '../redis-cluster/control.ts'
import type { ContainersConfig } from './config.ts'
import type { EnvironmentContainers } from './discovery.ts'
import { ignoreGone } from './docker.ts'
import { clusterRuntimes } from './redis-clusters.ts'

/** Redis answers PING (a published port accepts connections before the server behind it does). */
export function redisPing(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (d) => {
      reply += d
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
    socket.once('error', () => done(false))
    socket.once('close', () => done(false))
  })
}

export function containerCaches(containers: EnvironmentContainers, config: ContainersConfig, source: string, endpoints: Endpoints): CacheControl {
  const clusters = clusterCaches(config.caches)
  const cacheContainer = async (cache: string) => {
    if (!config.caches[cache]) throw new TargetError(`no cache "${cache}" in ${source}`)
    if (clusters[cache]) throw new TargetError(`cache ${cache} is a Redis Cluster: kill one of its nodes (redis.kill-primary), not the cache`)
    return (await containers.docker()).getContainer(containers.name(cache))
  }
  return {
    kill: async (cache) => void (await ignoreGone((await cacheContainer(cache)).kill())),
    start: async (cache) => {
      const c = await cacheContainer(cache)
      const info = await c.inspect()
      if (!info.State.Running) await ignoreGone(c.start())
      const { host, port } = endpoints.redis(cache)
      await waitFor(`redis ${cache} to answer`, () => redisPing(host, port), { timeoutMs: 10_000, intervalMs: 100 })
    },
    isRunning: async (cache) => (await ignoreGone((await cacheContainer(cache)).inspect()))?.State.Running ?? false,
    // only with a Redis Cluster in the file: the cluster faults then refuse at plan, before anything runs
    ...(Object.keys(clusters).length ? clusterControl(() => clusterRuntimes(containers, config)) : {}),
  }
}
