/**
 * Starting a containers environment: its network, a container per NATS node and per cache, and
 * the controller (the ECS stand-in's host) — all at once, each labelled with the environment id
 * and the host ports it publishes on 127.0.0.1, so that everything can be found again by label.
 */
import type { Logger } from '../../api/environment.ts'
import { freePorts } from '../../util/ports.ts'
import { REPO_ROOT } from '../../util/node-entry.ts'
import { natsServerConfig } from '../nats-config.ts'
import { isClusterCache, redisPersistenceArgs } from '../redis-config.ts'
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
): Promise<void> {
  const { docker, socketPath } = await containers.dockerClient()
  const labels = baseLabels(containers.envId)
  const network = containers.networkName
  const nodeList = Object.entries(config.clusters).flatMap(([cluster, c]) => c.nodes.map((n) => ({ cluster, ...n, c })))
  const httpServices = Object.values(definitions)
    .filter((d) => d.http)
    .map((d) => d.service)
  const ports = await freePorts(nodeList.length * 2 + Object.keys(config.caches).length + httpServices.length + 2)
  const take = () => ports.shift()!

  await docker.createNetwork({ Name: network, Driver: 'bridge', CheckDuplicate: true, Labels: labels })
  log.info(
    `starting ${nodeList.length} NATS nodes, ${Object.keys(config.caches).length} Redis and the controller (${images.nats}, ${images.redis}, ${images.node})`,
  )
  const starts: Promise<unknown>[] = []
  for (const n of nodeList) {
    const clientPort = take()
    const monitorPort = take()
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
        },
        command: ['--config', '/etc/nats/nats-server.conf'],
        files: [{ content: conf, target: '/etc/nats/nats-server.conf' }],
        publish: { [PORTS.client]: clientPort, [PORTS.monitor]: monitorPort },
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
      ? { embedded: false, url: external, adminPort: PORTS.proxy, linkHost: new URL(external).hostname }
      : { embedded: true, url: `http://127.0.0.1:${PORTS.proxy}`, adminPort: PORTS.proxy, linkHost: 'controller' },
    cacheLinks: planCacheLinks(config),
    dependencies: [...nodeList.map((n) => `${n.name}:${PORTS.client}`), ...Object.keys(config.caches).map((c) => `${c}:${PORTS.redis}`)],
    lbPorts,
    controlPort: PORTS.control,
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
