/**
 * The containers environment's controller — its stand-in for the ECS service scheduler and the
 * load balancer, as the supervisor is the local environment's. It runs in a container of the
 * environment (the node image, the repository bind-mounted, the Docker socket mounted), so it
 * outlives the process that ran `env up`, is found and removed by label like everything else,
 * and is restarted by Docker if it crashes.
 *
 * - Keeps each service at its desired count: a task is a container; one that exits for any
 *   reason (docker stop, docker kill, a crash) is replaced 500 ms later, as ECS replaces a
 *   stopped task. Task state comes from the task's own stdout ({"event":"ready"}, "draining"),
 *   read from the container's log — which Docker keeps, so a restarted controller replays it.
 * - Fronts each HTTP service with a round-robin TCP load balancer (../balancer.ts) that routes
 *   only to tasks that said they are ready and have not started draining, as an ALB target group does.
 * - Runs the fault proxy (src/proxy, embedded) with one proxy per (service, cache): a service's
 *   tasks reach Redis only through their link, so `redis.throttle` is a toxic on it, driven from
 *   the host through the admin API (published on 127.0.0.1), as on the local environment.
 * - Gives each task the NATS nodes of its own AZ first (NATS_URL; the target connects in order).
 * - Answers GET /tasks on its control port, for the environment's TaskControl.
 *
 *   node --import tsx src/environments/containers/controller.ts   (spec in $GAMEDAY_CONTROLLER)
 */
import type { Server } from 'node:net'
import { createServer as createHttpServer } from 'node:http'
import { createInterface } from 'node:readline'
import type Dockerode from 'dockerode'
import { parseDuration } from '../../util/duration.ts'
import { sleep } from '../../util/abort.ts'
import { canConnect } from '../../util/ports.ts'
import { FaultProxy } from '../../proxy/index.ts'
import { Balancer } from '../balancer.ts'
import { populateProxies } from '../fault-proxy.ts'
import { dockerClient, ignoreGone, LABEL, listContainers, testcontainers } from './docker.ts'
import { PORTS, startContainer } from './builder.ts'
import { CONTROLLER_ENV, CONTROLLER_READY, containerName, type ControllerSpec, type TaskRecord, type TasksResponse } from './protocol.ts'

const RESTART_DELAY_MS = 500
const SYNC_INTERVAL_MS = 1000
/** stopped tasks kept (containers and records) for their logs and for reports */
const HISTORY = 20

const say = (event: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(JSON.stringify({ at: new Date().toISOString(), event, ...fields }) + '\n')

class Controller {
  private readonly tasks: TaskRecord[] = []
  private readonly counters = new Map<string, number>()
  private readonly servers: Server[] = []
  private readonly following = new Set<string>()
  private docker!: Dockerode
  private shuttingDown = false
  private reconciling = false
  private started = false
  private updatedAt = new Date().toISOString()

  constructor(private readonly spec: ControllerSpec) {}

  private touch(): void {
    this.updatedAt = new Date().toISOString()
  }

  private taskLabels(service: string, id: string, az: string): Record<string, string> {
    return { ...this.spec.labels, [LABEL.role]: 'task', [LABEL.service]: service, [LABEL.task]: id, [LABEL.az]: az }
  }

  // ---- tasks -------------------------------------------------------------------------------

  /** Tasks of an earlier controller of this environment (we were restarted): take them over. */
  private async adopt(): Promise<void> {
    const found = await listContainers(this.docker, { [LABEL.env]: this.spec.envId, [LABEL.role]: 'task' })
    found.sort((a, b) => a.Created - b.Created)
    for (const c of found) {
      const service = c.Labels[LABEL.service]
      const id = c.Labels[LABEL.task]
      if (!service || !id || !this.spec.services[service]) continue
      const n = Number(id.slice(service.length + 1))
      if (Number.isInteger(n)) this.counters.set(service, Math.max(this.counters.get(service) ?? 0, n))
      const record: TaskRecord = {
        service,
        id,
        container: c.Names[0]?.replace(/^\//, '') ?? c.Id,
        az: c.Labels[LABEL.az] ?? '',
        state: c.State === 'running' ? 'PENDING' : 'STOPPED',
        ip: c.NetworkSettings?.Networks?.[this.spec.network]?.IPAddress || undefined,
        startedAt: new Date(c.Created * 1000).toISOString(),
        ...(c.State === 'running' ? {} : { stoppedAt: new Date().toISOString() }),
      }
      this.tasks.push(record)
      if (record.state !== 'STOPPED') this.follow(record) // replays the log: ready, draining
    }
    if (found.length) say('tasks.adopted', { tasks: this.tasks.map((t) => `${t.id}:${t.state}`) })
  }

  private azFor(service: string, n: number): string {
    // spread a service's tasks over the AZs, as ECS spreads a service over subnets
    const azs = this.spec.azs.length ? this.spec.azs : ['az-a']
    return azs[(n - 1) % azs.length]
  }

  private async startTask(service: string): Promise<void> {
    const svc = this.spec.services[service]
    const n = (this.counters.get(service) ?? 0) + 1
    this.counters.set(service, n)
    const id = `${service}-${n}`
    const az = this.azFor(service, n)
    const record: TaskRecord = { service, id, container: containerName(this.spec.envId, id), az, state: 'PENDING', startedAt: new Date().toISOString() }
    this.tasks.push(record)
    this.touch()
    const graceMs = parseDuration(svc.stopGrace)
    const cache = svc.caches[0] ? this.spec.cacheLinks.find((l) => l.from === service && l.to === svc.caches[0]) : undefined
    // nodes of the task's own AZ first (the task connects in order): AZ affinity, as deployed
    const natsUrls = [...this.spec.nats].sort((a, b) => Number(b.az === az) - Number(a.az === az)).map((n) => n.url)
    try {
      const started = await startContainer({
        image: this.spec.nodeImage,
        name: record.container,
        network: this.spec.network,
        alias: id,
        labels: this.taskLabels(service, id, az),
        command: ['node', '--import', 'tsx', svc.entry],
        env: {
          ...svc.env,
          // not a local state dir: the local environment's process sweep must never match a task
          GAMEDAY_STATE_DIR: `containers:${this.spec.envId}`,
          SERVICE: service,
          TASK_ID: id,
          AZ: az,
          NATS_URL: natsUrls.join(','),
          // Redis only through the fault proxy: a throttle is a toxic on this service's link
          ...(cache ? { REDIS_URL: `redis://${this.spec.proxy.linkHost}:${cache.listenPort}` } : {}),
          // an HTTP task listens on the network (the load balancer is another container)
          ...(svc.http ? { PORT: String(PORTS.task), HOST: '0.0.0.0' } : {}),
          STOP_GRACE_MS: String(graceMs),
        },
        init: true,
        binds: [{ source: this.spec.repoRoot, target: this.spec.repoRoot, mode: 'ro' }],
        workingDir: this.spec.repoRoot,
        stopTimeoutS: Math.max(1, Math.ceil(graceMs / 1000)),
      })
      record.ip = started.getIpAddress(this.spec.network)
      say('task.started', { task: id, az, container: record.container, ip: record.ip })
      this.follow(record)
    } catch (err) {
      say('task.start-failed', { task: id, error: (err as Error).message })
      this.markStopped(record, null)
    }
  }

  /** Reads a task's stdout from its first line: its own lifecycle events say where it is. */
  private follow(record: TaskRecord): void {
    if (this.following.has(record.container)) return
    this.following.add(record.container)
    void (async () => {
      const tc = await testcontainers()
      const client = await tc.getContainerRuntimeClient()
      const stream = await client.container.logs(client.container.getById(record.container), { since: 0 })
      const lines = createInterface({ input: stream })
      lines.on('line', (line) => this.onTaskLine(record, line))
      await new Promise<void>((resolve) => {
        stream.once('end', resolve)
        stream.once('close', resolve)
        stream.once('error', () => resolve())
      })
      this.following.delete(record.container)
      // the log ends when the container stops: make sure we noticed
      await this.sync()
    })().catch((err) => {
      this.following.delete(record.container)
      say('task.follow-failed', { task: record.id, error: (err as Error).message })
    })
  }

  private onTaskLine(task: TaskRecord, line: string): void {
    if (!line.startsWith('{')) return
    let event: { event?: string; at?: string } & Record<string, unknown>
    try {
      event = JSON.parse(line)
    } catch {
      return
    }
    const at = event.at ?? new Date().toISOString()
    if (event.event === 'ready' && task.state === 'PENDING') {
      task.state = 'RUNNING'
      task.readyAt = at
    } else if (event.event === 'draining' && task.state !== 'STOPPED') {
      task.state = 'DRAINING'
      task.drainingAt = at
    } else if (event.event === 'stopped') {
      task.stopReport = event
    } else {
      return
    }
    this.touch()
  }

  private markStopped(task: TaskRecord, exitCode: number | null): void {
    if (task.state === 'STOPPED') return
    task.state = 'STOPPED'
    task.stoppedAt = new Date().toISOString()
    task.exitCode = exitCode
    this.touch()
    say('task.stopped', { task: task.id, exitCode })
    if (!this.shuttingDown) setTimeout(() => void this.reconcile(), RESTART_DELAY_MS)
  }

  /** Docker's view of our tasks → records: any task whose container is no longer running is STOPPED. */
  private async sync(): Promise<void> {
    // only tasks whose container was up before we list: one being created may not be listed yet
    const candidates = this.tasks.filter((t) => t.state !== 'STOPPED' && t.ip)
    const containers = await listContainers(this.docker, { [LABEL.env]: this.spec.envId, [LABEL.role]: 'task' })
    const byName = new Map(containers.map((c) => [c.Names[0]?.replace(/^\//, ''), c]))
    for (const t of candidates) {
      if (t.state === 'STOPPED') continue
      const c = byName.get(t.container)
      if (c === undefined) {
        this.markStopped(t, null) // removed behind our back
      } else if (c.State !== 'running' && c.State !== 'created' && c.State !== 'paused') {
        const exit = /Exited \((\d+)\)/.exec(c.Status ?? '')
        this.markStopped(t, exit ? Number(exit[1]) : null)
      }
    }
    await this.prune(containers)
  }

  private async prune(containers: Dockerode.ContainerInfo[]): Promise<void> {
    const stopped = this.tasks.filter((t) => t.state === 'STOPPED')
    for (const t of stopped.slice(0, Math.max(0, stopped.length - HISTORY))) {
      this.tasks.splice(this.tasks.indexOf(t), 1)
      if (containers.some((c) => c.Names[0]?.replace(/^\//, '') === t.container)) {
        await ignoreGone(this.docker.getContainer(t.container).remove({ force: true, v: true }))
      }
    }
  }

  private async reconcile(): Promise<void> {
    if (this.reconciling || this.shuttingDown || !this.started) return
    this.reconciling = true
    try {
      const starts: Promise<void>[] = []
      for (const [service, svc] of Object.entries(this.spec.services)) {
        const active = this.tasks.filter((t) => t.service === service && t.state !== 'STOPPED').length
        for (let i = active; i < svc.instances; i++) starts.push(this.startTask(service))
      }
      await Promise.all(starts)
    } finally {
      this.reconciling = false
    }
  }

  private watchEvents(): void {
    void (async () => {
      while (!this.shuttingDown) {
        try {
          const stream = (await this.docker.getEvents({
            filters: { type: ['container'], event: ['die'], label: [`${LABEL.env}=${this.spec.envId}`, `${LABEL.role}=task`] },
          })) as NodeJS.ReadableStream
          const lines = createInterface({ input: stream as NodeJS.ReadableStream & AsyncIterable<string> })
          for await (const line of lines) {
            try {
              const e = JSON.parse(line) as { Actor?: { Attributes?: Record<string, string> } }
              const name = e.Actor?.Attributes?.name
              const task = this.tasks.find((t) => t.container === name)
              if (task) this.markStopped(task, e.Actor?.Attributes?.exitCode !== undefined ? Number(e.Actor.Attributes.exitCode) : null)
            } catch {
              // not an event line
            }
          }
        } catch (err) {
          say('events.error', { error: (err as Error).message })
        }
        await sleep(500)
      }
    })()
  }

  // ---- load balancer and API ---------------------------------------------------------------

  private async listen(server: Server, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '0.0.0.0', () => resolve())
    })
    this.servers.push(server)
  }

  private async serve(): Promise<void> {
    const api = createHttpServer((req, res) => {
      if (req.method === 'GET' && req.url === '/tasks') {
        const body: TasksResponse = { updatedAt: this.updatedAt, tasks: this.tasks }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      } else if (req.method === 'GET' && req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', started: this.started }))
      } else {
        res.writeHead(404).end()
      }
    })
    await this.listen(api as unknown as Server, this.spec.controlPort)
    for (const [service, port] of Object.entries(this.spec.lbPorts)) {
      const balancer = new Balancer({
        tasks: () => this.tasks.filter((t) => t.service === service),
        address: (t) => (t.ip ? { host: t.ip, port: PORTS.task } : undefined),
      })
      this.servers.push(await balancer.listen(port, '0.0.0.0'))
    }
  }

  // ---- fault proxy -------------------------------------------------------------------------

  private proxy: FaultProxy | undefined

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

  // ---- lifecycle ---------------------------------------------------------------------------

  async start(): Promise<void> {
    this.docker = (await dockerClient()).docker
    await this.adopt()
    await this.startProxy()
    await this.serve()
    this.watchEvents()
    say(CONTROLLER_READY, { services: Object.keys(this.spec.services), lb: this.spec.lbPorts })
    // tasks connect at start: let NATS and Redis listen first, as ECS would start them after the cluster
    const deadline = Date.now() + 60_000
    while (
      Date.now() < deadline &&
      !(await Promise.all(this.spec.dependencies.map((d) => canConnect(Number(d.split(':')[1]), d.split(':')[0])))).every(Boolean)
    )
      await sleep(100)
    this.started = true
    await this.reconcile()
    const loop = async () => {
      while (!this.shuttingDown) {
        await sleep(SYNC_INTERVAL_MS)
        try {
          await this.sync()
          await this.reconcile()
        } catch (err) {
          say('sync.error', { error: (err as Error).message })
        }
      }
    }
    void loop()
  }

  shutdown(): void {
    // tasks stay: the environment removes them (env down), the controller may just be restarting
    this.shuttingDown = true
    for (const s of this.servers) s.close()
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
