/**
 * How probes reach the system on AWS: NATS client URLs (from the file, or the instances'
 * private IPs), NATS credentials and TLS, monitoring URLs per node, the Redis endpoint (the
 * replication group's primary unless the file names a host) and the gateway with its CA.
 * Secrets are read when a probe connects, never at load.
 */
import { credsAuthenticator, nkeyAuthenticator, tokenAuthenticator, usernamePasswordAuthenticator } from '@nats-io/nats-core'
import type { Endpoints, RedisEndpoint } from '../../api/environment.ts'
import { TargetError } from '../../api/errors.ts'
import { readSecret, resolveFilePath, type AwsConfig, type SecretRef } from './config.ts'
import type { AwsDiscovery } from './discovery.ts'

export function awsEndpoints(config: AwsConfig, discovery: AwsDiscovery, baseDir?: string): Endpoints {
  const natsCluster = (cluster: string) => {
    const nc = config.nats[cluster]
    if (!nc) throw new TargetError(`unknown NATS cluster "${cluster}"`)
    return nc
  }
  const secret = (ref: SecretRef) => () => readSecret(ref, { baseDir })
  return {
    natsServers: (cluster) => {
      const nc = natsCluster(cluster)
      if (nc.servers?.length) return nc.servers
      const scheme = nc.tls ? 'tls' : 'nats'
      return discovery
        .current()
        .instances.filter((i) => i.cluster === cluster && i.privateIp)
        .map((i) => `${scheme}://${i.privateIp}:${nc.clientPort}`)
    },
    natsOptions: (cluster) => {
      const nc = natsCluster(cluster)
      const opts: Record<string, unknown> = {}
      if (nc.tls) {
        const tls: Record<string, string> = {}
        for (const key of ['caFile', 'certFile', 'keyFile'] as const) if (nc.tls[key]) tls[key] = resolveFilePath(nc.tls[key]!, baseDir)
        opts.tls = tls
      }
      const auth = nc.auth
      if (auth?.credentials) opts.authenticator = credsAuthenticator(() => new TextEncoder().encode(secret(auth.credentials!)()))
      else if (auth?.nkeySeed) opts.authenticator = nkeyAuthenticator(() => new TextEncoder().encode(secret(auth.nkeySeed!)()))
      else if (auth?.token) opts.authenticator = tokenAuthenticator(secret(auth.token))
      else if (auth?.user) opts.authenticator = usernamePasswordAuthenticator(auth.user, auth.password ? secret(auth.password) : undefined)
      return opts
    },
    natsMonitor: (cluster, node) => {
      const nc = natsCluster(cluster)
      const inst = discovery.current().instances.find((i) => i.cluster === cluster && i.node === node && i.state !== 'terminated')
      const host = inst && (nc.monitor.address === 'privateDns' ? inst.privateDns : inst.privateIp)
      if (!host) throw new TargetError(`no address known for NATS node ${cluster}/${node}`)
      return `${nc.monitor.scheme}://${host}:${nc.monitor.port}`
    },
    redis: (cache): RedisEndpoint => {
      const cc = config.caches[cache]
      if (!cc) throw new TargetError(`unknown cache "${cache}" (the environment has ${Object.keys(config.caches).join(', ') || 'none'})`)
      const found = discovery.peek()?.caches[cache]
      const host = cc.host ?? found?.primaryHost
      if (!host) throw new TargetError(`no host known for cache "${cache}": set caches.${cache}.host or discover first`)
      const endpoint: RedisEndpoint = { host, port: cc.host ? cc.port : (found?.primaryPort ?? cc.port), tls: cc.tls }
      if (cc.auth) endpoint.password = readSecret(cc.auth, { baseDir })
      return endpoint
    },
    gateway: () => {
      if (!config.gateway) throw new TargetError('the AWS environment file has no gateway.url')
      return config.gateway.url
    },
    gatewayCaFile: () => (config.gateway?.caFile ? resolveFilePath(config.gateway.caFile, baseDir) : undefined),
  }
}
