/**
 * Starting a containers environment: its network, a container per NATS node, per cache and per
 * Redis Cluster node, and the controller (the ECS stand-in's host, which forms the Redis
 * Clusters before the first task starts) — all at once, each labelled with the environment id
 * and the host ports it publishes on 127.0.0.1, so that everything can be found again by label.
 * In the production shape the NATS nodes read their certificates from the environment's folder
 * on the host (bind-mounted at the same path, so a rotated certificate is a file rewritten there).
 */
import { readFileSync } from 'node:fs'
import type { Logger } from '../../api/environment.ts'
import { freePorts } from '../../util/ports.ts'
import { REPO_ROOT } from '../../util/node-entry.ts'
import { natsServerConfig } from '../nats-config.ts'
import { clusterCaches, isClusterCache, redisPersistenceArgs } from '../redis-config.ts'
import { clusterNodeArgs, planClusterNodes } from '../redis-cluster/plan.ts'
import { accountsBlock } from '../tls/secure-nats.ts'
import type { SecureState } from './host-state.ts'
import { azsOf, observerOptions, serviceVariables, taskBinds } from './secure-layout.ts'
import type { TaskDefinition } from '../ecs/definition.ts'
import type { ContainersConfig, ImageName } from './config.ts'
import type { EnvironmentContainers } from './discovery.ts'
import { baseLabels, LABEL } from './docker.ts'
import { PORTS, startContainer } from './builder.ts'
import { planCacheLinks } from './network.ts'
import { CONTROLLER_ENV, CONTROLLER_READY, type ControllerSpec } from './protocol.ts'

export async function startContainers(
  containers: EnvironmentContainers,
  config: ContainersConfig,
  definitions: Record<string, TaskDefinition>,
  images: Record<ImageName, string>,
  log: Logger,
  secure?: SecureState,
): Promise<void> {
  const { docker, socketPath } = await containers.dockerClient()
  const labels = baseLabels(containers.envId)
  const network = containers.networkName
  const nodeList = Object.entries(config.clusters).flatMap(([cluster, c]) => c.nodes.map((n) => ({ cluster, ...n, c })))
  const httpServices = Object.values(definitions)
    .filter((d) => d.http)
    .map((d) => d.service)
  const clusters = Object.entries(clusterCaches(config.caches)).map(([name, c]) => ({ name, c, nodes: planClusterNodes(name, c, c.azs ?? azsOf(config)) }))
  const ports = await freePorts(
    nodeList.length * 3 + Object.keys(config.caches).length + clusters.reduce((n, c) => n + c.nodes.length, 0) + httpServices.length + 2,
  )
  const take = () => ports.shift()!
  const accounts = Object.fromEntries(Object.entries(config.clusters).flatMap(([name, c]) => (c.accounts ? [[name, accountsBlock(definitions)]] : [])))

  await docker.createNetwork({ Name: network, Driver: 'bridge', CheckDuplicate: true, Labels: labels })
  const clusterNodes = clusters.reduce((n, c) => n + c.nodes.length, 0)
  log.info(
    `starting ${nodeList.length} NATS nodes${Object.values(config.clusters).some((c) => c.tls) ? ' (TLS)' : ''}, ${Object.keys(config.caches).length - clusters.length + clusterNodes} Redis${clusterNodes ? ` (${clusters.length} Redis Cluster of ${clusterNodes} nodes)` : ''} and the controller (${images.nats}, ${images.redis}, ${images.node})`,
  )
  const starts: Promise<unknown>[] = []
  for (const n of nodeList) {
    const clientPort = take()
    const monitorPort = take()
    const tls = secure?.nats[n.name]
    const clusterPort = tls ? take() : undefined
    const peers = nodeList.filter((m) => m.cluster === n.cluster && m.name !== n.name)
    const conf = natsServerConfig({
      name: n.name,
      az: n.az,
      cluster: n.cluster,
      clientListen: `0.0.0.0:${PORTS.client}`,
      httpListen: `0.0.0.0:${PORTS.monitor}`,
      clusterListen: `0.0.0.0:${PORTS.cluster}`,
      routes: peers.map((m) => `nats-route://${m.name}:${PORTS.cluster}`),
      // clients outside (the host) use the published ports only, never container addresses
      noClientAdvertise: true,
      storeDir: '/data/jetstream',
      maxMemoryStore: n.c.maxMemoryStore,
      maxFileStore: n.c.maxFileStore,
      // the certificates at their host paths: the folder is mounted there
      ...(tls ? { tls } : {}),
      ...(accounts[n.cluster] ? { accounts: accounts[n.cluster] } : {}),
    })
    starts.push(
      startContainer({
        image: images.nats,
        name: containers.name(n.name),
        network,
        alias: n.name,
        labels: {
          ...labels,
          [LABEL.role]: 'nats',
          [LABEL.cluster]: n.cluster,
          [LABEL.node]: n.name,
          [LABEL.az]: n.az,
          [LABEL.portClient]: String(clientPort),
          [LABEL.portMonitor]: String(monitorPort),
          ...(clusterPort ? { [LABEL.portCluster]: String(clusterPort) } : {}),
        },
        command: ['--config', '/etc/nats/nats-server.conf'],
        files: [{ content: conf, target: '/etc/nats/nats-server.conf' }],
        ...(tls && secure?.pki ? { binds: [{ source: secure.pki.dir, target: secure.pki.dir, mode: 'ro' as const }] } : {}),
        publish:
          clusterPort !== undefined
            ? { [PORTS.client]: clientPort, [PORTS.monitor]: monitorPort, [PORTS.cluster]: clusterPort }
            : { [PORTS.client]: clientPort, [PORTS.monitor]: monitorPort },
        stopTimeoutS: 30,
        readyLog: /Server is ready/,
      }),
    )
  }
  for (const [name, c] of Object.entries(config.caches)) {
    if (isClusterCache(c)) continue
    const port = take()
    starts.push(
      startContainer({
        image: images.redis,
        name: containers.name(name),
        network,
        alias: name,
        labels: { ...labels, [LABEL.role]: 'redis', [LABEL.cache]: name, ...(c.az ? { [LABEL.az]: c.az } : {}), [LABEL.portRedis]: String(port) },
        command: ['redis-server', '--port', String(PORTS.redis), ...redisPersistenceArgs(c.persistence), '--protected-mode', 'no'],
        publish: { [PORTS.redis]: port },
        readyLog: /Ready to accept connections/,
      }),
    )
  }
  for (const { name: cache, c, nodes } of clusters) {
    const r = secure?.redis[cache]
    for (const node of nodes) {
      const port = take()
      const certs = r?.nodes[node.name]
      // a node's files inside its container: its data folder (nodes.conf), and its certificate copied in (the image's user reads it)
      const tlsFiles = { caFile: '/etc/redis/tls/ca.pem', certFile: '/etc/redis/tls/server.pem', keyFile: '/etc/redis/tls/server-key.pem' }
      const args = clusterNodeArgs(
        node,
        {
          bindHost: '0.0.0.0',
          port: PORTS.redis,
          busPort: PORTS.redisBus,
          announceHostname: node.name,
          announcePort: PORTS.redis,
          announceBusPort: PORTS.redisBus,
          dir: '/data',
        },
        c,
        { password: r?.password, ...(certs && r?.caFile ? { tls: tlsFiles } : {}) },
      )
      starts.push(
        startContainer({
          image: images.redis,
          name: containers.name(node.name),
          network,
          alias: node.name,
          labels: {
            ...labels,
            [LABEL.role]: 'redis-node',
            [LABEL.cache]: cache,
            [LABEL.node]: node.name,
            [LABEL.az]: node.az,
            [LABEL.portRedis]: String(port),
          },
          command: ['redis-server', ...args],
          files: [
            { content: 'gameday: the Redis Cluster node keeps nodes.conf here\n', target: '/data/README' },
            ...(certs && r?.caFile
              ? [
                  { content: readFileSync(r.caFile, 'utf8'), target: tlsFiles.caFile },
                  { content: readFileSync(certs.certFile, 'utf8'), target: tlsFiles.certFile },
                  { content: readFileSync(certs.keyFile, 'utf8'), target: tlsFiles.keyFile },
                ]
              : []),
          ],
          publish: { [PORTS.redis]: port },
          readyLog: /Ready to accept connections/,
        }),
      )
    }
  }
  const lbPorts: Record<string, number> = {}
  const lbLabels: Record<string, string> = {}
  const publish: Record<number, number> = {}
  httpServices.forEach((svc, i) => {
    lbPorts[svc] = PORTS.lbBase + i
    const host = take()
    publish[lbPorts[svc]] = host
    lbLabels[`${LABEL.portLbPrefix}${svc}`] = String(host)
  })
  const controlPort = take()
  publish[PORTS.control] = controlPort
  // the fault proxy: embedded in the controller, its admin API published on 127.0.0.1; or a
  // Toxiproxy at TOXIPROXY_URL, which this host and the containers both reach at that URL and
  // which reaches the caches by their names on the network (its links listen on its host)
  const external = process.env.TOXIPROXY_URL
  const proxyHostPort = take()
  if (!external) publish[PORTS.proxy] = proxyHostPort
  const proxyUrl = external ?? `http://127.0.0.1:${proxyHostPort}`
  const cacheLinks = planCacheLinks(config)
  const linkHost = external ? new URL(external).hostname : 'controller'
  const spec: ControllerSpec = {
    envId: containers.envId,
    network,
    repoRoot: REPO_ROOT,
    nodeImage: images.node,
    labels,
    services: definitions,
    azs: [...new Set(nodeList.map((n) => n.az))].sort(),
    nats: nodeList.map((n) => ({ url: `nats://${n.name}:${PORTS.client}`, az: n.az })),
    proxy: external
      ? { embedded: false, url: external, adminPort: PORTS.proxy, linkHost }
      : { embedded: true, url: `http://127.0.0.1:${PORTS.proxy}`, adminPort: PORTS.proxy, linkHost },
    cacheLinks,
    dependencies: [
      ...nodeList.map((n) => `${n.name}:${PORTS.client}`),
      ...Object.keys(config.caches)
        .filter((c) => !isClusterCache(config.caches[c]))
        .map((c) => `${c}:${PORTS.redis}`),
      ...clusters.flatMap((c) => c.nodes.map((n) => `${n.name}:${PORTS.redis}`)),
    ],
    lbPorts,
    controlPort: PORTS.control,
    serviceVariables: serviceVariables(config, secure, cacheLinks, linkHost),
    ...(observerOptions(config, secure) ? { observerNatsOptions: observerOptions(config, secure) } : {}),
    taskBinds: taskBinds(secure),
    tlsCaches: clusters.filter((c) => c.c.tls).map((c) => c.name),
    redisClusters: Object.fromEntries(
      clusters.map((c) => [c.name, { password: secure?.redis[c.name]?.password, caFile: secure?.redis[c.name]?.caFile, nodes: c.nodes }]),
    ),
  }
  starts.push(
    startContainer({
      image: images.node,
      name: containers.name('controller'),
      network,
      alias: 'controller',
      labels: { ...labels, [LABEL.role]: 'controller', [LABEL.portControl]: String(controlPort), [LABEL.proxyUrl]: proxyUrl, ...lbLabels },
      command: ['node', '--import', 'tsx', 'src/environments/containers/controller.ts'],
      env: { [CONTROLLER_ENV]: JSON.stringify(spec), TESTCONTAINERS_RYUK_DISABLED: 'true', DOCKER_HOST: 'unix:///var/run/docker.sock' },
      init: true,
      binds: [
        { source: REPO_ROOT, target: REPO_ROOT, mode: 'ro' },
        { source: socketPath, target: '/var/run/docker.sock', mode: 'rw' },
        // the CA and gameday's client certificate (readiness checks, forming a TLS Redis Cluster), wherever the folder lies
        ...(secure?.pki ? [{ source: secure.pki.dir, target: secure.pki.dir, mode: 'ro' as const }] : []),
      ],
      workingDir: REPO_ROOT,
      restart: 'on-failure',
      publish,
      readyLog: new RegExp(CONTROLLER_READY.replace(/\./g, '\\.')),
    }),
  )
  const settled = await Promise.allSettled(starts)
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failed) throw failed.reason
}
