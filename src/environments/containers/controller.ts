/**
 * The containers environment's controller: the host of its ECS stand-in (../ecs/) over Docker
 * containers, its load balancers and its fault proxy — what the supervisor is to the local
 * environment. It runs in a container of the environment (the node image, the repository
 * bind-mounted, the Docker socket mounted), so it outlives the process that ran `env up`, is
 * found and removed by label like everything else, and is restarted by Docker if it crashes:
 * a restarted controller adopts the tasks it finds and replays their logs.
 *
 * - The fault proxy (src/proxy, embedded) has one proxy per (service, cache): a service's tasks
 *   reach Redis only through their link, so `redis.throttle` is a toxic on it, driven from the
 *   host through the admin API (published on 127.0.0.1), as on the local environment.
 * - Each task gets the NATS nodes of its own AZ first (NATS_URL; the target connects in order).
 * - Its control port serves the stand-in's task API (GET /tasks, POST /tasks/<id>/stop|kill).
 *
 *   node --import tsx src/environments/containers/controller.ts   (spec in $GAMEDAY_CONTROLLER)
 */
import { createServer as createHttpServer, type Server } from 'node:http'
import type { Server as NetServer } from 'node:net'
import { sleep } from '../../util/abort.ts'
import { canConnect } from '../../util/ports.ts'
import { FaultProxy } from '../../proxy/index.ts'
import { populateProxies } from '../fault-proxy.ts'
import { EcsScheduler } from '../ecs/scheduler.ts'
import { serveTaskApi } from '../ecs/control-api.ts'
import { dockerClient } from './docker.ts'
import { ContainerRuntime } from './container-runtime.ts'
import { formRedisClusters } from './redis-clusters.ts'
import { CONTROLLER_ENV, CONTROLLER_READY, type ControllerSpec } from './protocol.ts'

const say = (event: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(JSON.stringify({ at: new Date().toISOString(), event, ...fields }) + '\n')

async function listen(server: Server | NetServer, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '0.0.0.0', () => resolve())
  })
}

class Controller {
  private readonly servers: (Server | NetServer)[] = []
  private scheduler!: EcsScheduler
  private proxy: FaultProxy | undefined

  constructor(private readonly spec: ControllerSpec) {}

  /**
   * The fault proxy with one proxy per (service, cache), before any task uses one: embedded (its
   * admin API published on the host's loopback), or the Toxiproxy at TOXIPROXY_URL. A restarted
   * controller starts a fresh one: toxics do not survive it, as they would not survive Toxiproxy's.
   */
  private async startProxy(): Promise<void> {
    const { proxy, cacheLinks } = this.spec
    // on the container's interfaces: the port Docker publishes on the host's 127.0.0.1 forwards
    // there; besides the host, only the environment's own network reaches it
    if (proxy.embedded) this.proxy = await FaultProxy.start({ listen: `0.0.0.0:${proxy.adminPort}`, allowRemote: true })
    await populateProxies(
      proxy.url,
      cacheLinks.map((l) => ({ name: l.name, listen: `0.0.0.0:${l.listenPort}`, upstream: l.upstream, enabled: true })),
    )
  }

  async start(): Promise<void> {
    const { docker } = await dockerClient()
    const { spec } = this
    this.scheduler = new EcsScheduler({
      definitions: spec.services,
      azs: spec.azs,
      runtime: new ContainerRuntime(spec, docker),
      // nodes of the task's own AZ first (it connects in order): AZ affinity, as deployed
      natsUrls: (az) => [...spec.nats].sort((a, b) => Number(b.az === az) - Number(a.az === az)).map((n) => n.url),
      // Redis only through the fault proxy: a throttle is a toxic on this service's link (a Redis
      // Cluster: its link to each node, the seeds of its client, which REDIS_NAT_MAP points at them)
      redisUrl: (service) => {
        const cache = spec.services[service]?.caches[0]
        const links = cache ? spec.cacheLinks.filter((l) => l.from === service && l.to === cache) : []
        const scheme = cache && spec.tlsCaches?.includes(cache) ? 'rediss' : 'redis'
        return links.length ? links.map((l) => `${scheme}://${spec.proxy.linkHost}:${l.listenPort}`).join(',') : undefined
      },
      variables: ({ service }) => spec.serviceVariables?.[service] ?? {},
      ...(spec.observerNatsOptions ? { observerNatsOptions: spec.observerNatsOptions } : {}),
      // not a local state dir: the local environment's process sweep must never match a task
      extraEnv: { GAMEDAY_STATE_DIR: `containers:${spec.envId}` },
      observerNats: spec.nats.map((n) => n.url),
      say,
    })
    await this.startProxy()
    const api = createHttpServer((req, res) => {
      if (serveTaskApi(this.scheduler, req, res)) return
      if (req.method === 'GET' && req.url === '/healthz') res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
      else res.writeHead(404).end()
    })
    await listen(api, spec.controlPort)
    this.servers.push(api)
    for (const [service, port] of Object.entries(spec.lbPorts)) this.servers.push(await this.scheduler.balancer(service).listen(port, '0.0.0.0'))
    say(CONTROLLER_READY, { services: Object.keys(spec.services), lb: spec.lbPorts })
    // tasks connect at start: let NATS and Redis listen first, as ECS would start them after the cluster
    const deadline = Date.now() + 60_000
    const listening = async () => (await Promise.all(spec.dependencies.map((d) => canConnect(Number(d.split(':')[1]), d.split(':')[0])))).every(Boolean)
    while (Date.now() < deadline && !(await listening())) await sleep(100)
    // the Redis Clusters are formed before any task needs them (a restarted controller finds them whole)
    await formRedisClusters(spec, say)
    await this.scheduler.start()
  }

  shutdown(): void {
    // tasks stay: the environment removes them (env down), the controller may just be restarting
    this.scheduler?.detach()
    for (const s of this.servers) s.close()
    void this.proxy?.close()
    process.exit(0)
  }
}

async function main(): Promise<void> {
  const raw = process.env[CONTROLLER_ENV]
  if (!raw) {
    console.error(`controller: no spec in $${CONTROLLER_ENV}`)
    process.exit(2)
  }
  const controller = new Controller(JSON.parse(raw) as ControllerSpec)
  process.on('SIGTERM', () => controller.shutdown())
  process.on('SIGINT', () => controller.shutdown())
  await controller.start()
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
