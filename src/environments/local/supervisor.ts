/**
 * The local environment's supervisor daemon — the stand-in for ECS and its load balancer.
 *
 * It is the parent of every process of the environment — nats-server nodes, redis-server and
 * service tasks — so that each is reaped when it dies (a killed process whose parent has gone
 * stays a zombie on hosts whose init does not reap). Faults signal processes directly by pid;
 * starting one goes through the control API (POST /nodes/<name>/start, /caches/<name>/start).
 *
 * It keeps each service at its desired count of tasks (child processes), replacing a task that
 * exits for any reason, as ECS replaces a stopped task; and it fronts each HTTP service with a
 * round-robin TCP load balancer (../balancer.ts) that only routes to tasks that said they are
 * ready and have not started draining, as an ALB target group does. Task lifecycle is written
 * to tasks.json.
 *
 * Started detached by `LocalEnvironment.up()`; SIGTERM stops every task gracefully, then exits.
 *   node supervisor.ts <stateDir>
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, writeFileSync } from 'node:fs'
import type { Server } from 'node:net'
import { createServer as createHttpServer } from 'node:http'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { nodeCommand, REPO_ROOT } from '../../util/node-entry.ts'
import { canConnect, freePort } from '../../util/ports.ts'
import { parseDuration } from '../../util/duration.ts'
import { FaultProxy } from '../../proxy/index.ts'
import { Balancer } from '../balancer.ts'
import { populateProxies } from '../fault-proxy.ts'
import { redisPersistenceArgs } from '../redis-config.ts'
import { readState, writeJsonAtomic, type LocalState, type TaskRecord } from './state.ts'
import { isAlive } from './processes.ts'

const RESTART_DELAY_MS = 500
const NATS_BIN = process.env.GAMEDAY_NATS_SERVER ?? 'nats-server'
const REDIS_BIN = process.env.GAMEDAY_REDIS_SERVER ?? 'redis-server'
const HISTORY = 200

class Supervisor {
  private readonly tasks: TaskRecord[] = []
  private readonly children = new Map<string, ChildProcess>()
  private readonly counters = new Map<string, number>()
  private readonly lbServers: Server[] = []
  private shuttingDown = false

  constructor(private readonly state: LocalState) {}

  private readonly infra = new Map<string, ChildProcess>()

  /** Starts a nats-server node or redis-server as our child; its pid file is what faults signal. */
  startInfra(kind: 'node' | 'cache', name: string): number {
    const existing = this.infra.get(`${kind}:${name}`)
    // a process that has exited but whose exit event is still queued (not yet reaped) is not running
    if (existing && existing.exitCode === null && existing.signalCode === null && isAlive(existing.pid)) return existing.pid!
    let command: string
    let args: string[]
    let pidFile: string
    let logFile: string
    if (kind === 'node') {
      const n = this.state.nodes[name]
      if (!n) throw new Error(`no node ${name}`)
      ;[command, args, pidFile, logFile] = [NATS_BIN, ['-c', n.confFile], n.pidFile, n.logFile]
    } else {
      const c = this.state.caches[name]
      if (!c) throw new Error(`no cache ${name}`)
      ;[command, args, pidFile, logFile] = [
        REDIS_BIN,
        ['--port', String(c.port), '--bind', '127.0.0.1', ...redisPersistenceArgs(c.persistence), '--dir', c.dir],
        c.pidFile,
        c.logFile,
      ]
    }
    const log = createWriteStream(logFile, { flags: 'a' })
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout!.pipe(log)
    child.stderr!.pipe(log)
    if (!child.pid) throw new Error(`cannot start ${command}`)
    writeFileSync(pidFile, String(child.pid))
    this.infra.set(`${kind}:${name}`, child)
    return child.pid
  }

  private async startControl(): Promise<void> {
    const server = createHttpServer((req, res) => {
      const d = /^\/tasks\/([^/]+)\/deregister$/.exec(req.url ?? '')
      if (req.method === 'POST' && d) {
        res.writeHead(this.deregister(decodeURIComponent(d[1])) ? 200 : 404).end()
        return
      }
      const m = /^\/(nodes|caches)\/([^/]+)\/start$/.exec(req.url ?? '')
      if (req.method !== 'POST' || !m) {
        res.writeHead(404).end()
        return
      }
      try {
        const pid = this.startInfra(m[1] === 'nodes' ? 'node' : 'cache', decodeURIComponent(m[2]))
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pid }))
      } catch (err) {
        res.writeHead(400).end((err as Error).message)
      }
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.state.controlPort, '127.0.0.1', () => resolve())
    })
    this.lbServers.push(server as unknown as Server)
  }

  /** Takes a task out of its load balancer before it is stopped, as ECS deregisters a task (DEACTIVATING) before its SIGTERM. */
  private deregister(id: string): boolean {
    const task = this.tasks.find((t) => t.id === id && t.state !== 'STOPPED')
    if (!task) return false
    if (task.state !== 'DRAINING') {
      task.state = 'DRAINING' // the task's own `draining` line sets drainingAt
      this.flush()
    }
    return true
  }

  private proxy: FaultProxy | undefined

  /** The fault proxy with every link of the environment, before anything tries to use one. */
  private async startProxy(): Promise<void> {
    if (this.state.proxy.embedded) this.proxy = await FaultProxy.start({ listen: `127.0.0.1:${this.state.proxy.adminPort}` })
    await populateProxies(
      this.state.proxy.url,
      this.state.links.map((l) => ({ name: l.name, listen: `127.0.0.1:${l.listenPort}`, upstream: `127.0.0.1:${l.upstreamPort}`, enabled: l.enabled })),
    )
  }

  async start(): Promise<void> {
    await this.startProxy()
    await this.startControl()
    for (const name of Object.keys(this.state.nodes)) this.startInfra('node', name)
    for (const name of Object.keys(this.state.caches)) this.startInfra('cache', name)
    for (const [service, port] of Object.entries(this.state.lbPorts)) await this.startBalancer(service, port)
    // tasks connect at start: let the servers listen first, as ECS would start them after the cluster
    const ports = [...Object.values(this.state.nodes).map((n) => n.clientPort), ...Object.values(this.state.caches).map((c) => c.port)]
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline && !(await Promise.all(ports.map((port) => canConnect(port)))).every(Boolean)) await new Promise((r) => setTimeout(r, 50))
    for (const [name, svc] of Object.entries(this.state.services)) {
      for (let i = 0; i < svc.instances; i++) await this.startTask(name)
    }
    this.flush()
  }

  private azFor(service: string): string {
    // spread tasks over AZs the way ECS spreads a service over subnets
    const azs = [...new Set(Object.values(this.state.nodes).map((n) => n.az))].sort()
    const n = this.counters.get(service) ?? 0
    return azs[(n - 1 + azs.length) % azs.length] ?? 'az-a'
  }

  private async startTask(service: string): Promise<void> {
    if (this.shuttingDown) return
    const spec = this.state.services[service]
    const n = (this.counters.get(service) ?? 0) + 1
    this.counters.set(service, n)
    const id = `${service}-${n}`
    const port = spec.http ? await freePort() : undefined
    const az = this.azFor(service)
    // a task reaches NATS and Redis only through the proxied paths of its AZ and service
    // nodes of the task's own AZ first (the task connects in order): AZ affinity, as deployed
    const natsUrls = this.state.links
      .filter((l) => l.kind === 'client' && l.from === az)
      .sort((a, b) => Number(this.state.nodes[b.to]?.az === az) - Number(this.state.nodes[a.to]?.az === az))
      .map((l) => `nats://127.0.0.1:${l.listenPort}`)
    const cacheLink = spec.caches[0] ? this.state.links.find((l) => l.kind === 'cache' && l.from === service && l.to === spec.caches[0]) : undefined
    const { command, args } = nodeCommand(spec.entry)
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...spec.env,
        GAMEDAY_STATE_DIR: this.state.stateDir,
        SERVICE: service,
        TASK_ID: id,
        AZ: az,
        NATS_URL: natsUrls.join(','),
        ...(cacheLink ? { REDIS_URL: `redis://127.0.0.1:${cacheLink.listenPort}` } : {}),
        ...(port ? { PORT: String(port) } : {}),
        STOP_GRACE_MS: String(parseDuration(spec.stopGrace)),
      },
    })
    const task: TaskRecord = { service, id, pid: child.pid ?? -1, az, state: 'PENDING', port, startedAt: new Date().toISOString() }
    this.tasks.push(task)
    this.children.set(id, child)
    const log = createWriteStream(join(this.state.logsDir, `${id}.log`), { flags: 'a' })
    child.stderr!.pipe(log)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.write(line + '\n')
      this.onTaskLine(task, line)
    })
    child.on('exit', (code, sig) => this.onTaskExit(task, code, sig))
    this.flush()
  }

  private onTaskLine(task: TaskRecord, line: string): void {
    if (!line.startsWith('{')) return
    let event: { event?: string } & Record<string, unknown>
    try {
      event = JSON.parse(line)
    } catch {
      return
    }
    const now = new Date().toISOString()
    if (event.event === 'ready' && task.state === 'PENDING') {
      task.state = 'RUNNING'
      task.readyAt = now
    } else if (event.event === 'draining' && task.state !== 'STOPPED') {
      task.state = 'DRAINING'
      task.drainingAt = now
    } else if (event.event === 'stopped') {
      task.stopReport = event
    } else {
      return
    }
    this.flush()
  }

  private onTaskExit(task: TaskRecord, code: number | null, sig: NodeJS.Signals | null): void {
    task.state = 'STOPPED'
    task.stoppedAt = new Date().toISOString()
    task.exitCode = code
    task.exitSignal = sig
    this.children.delete(task.id)
    this.flush()
    if (!this.shuttingDown) setTimeout(() => void this.startTask(task.service), RESTART_DELAY_MS)
  }

  private async startBalancer(service: string, port: number): Promise<void> {
    const balancer = new Balancer({
      tasks: () => this.tasks.filter((t) => t.service === service),
      address: (t) => (t.port ? { host: '127.0.0.1', port: t.port } : undefined),
    })
    this.lbServers.push(await balancer.listen(port, '127.0.0.1'))
  }

  private flush(): void {
    const stopped = this.tasks.filter((t) => t.state === 'STOPPED')
    if (stopped.length > HISTORY) this.tasks.splice(this.tasks.indexOf(stopped[0]), 1)
    writeJsonAtomic(this.state.tasksFile, { updatedAt: new Date().toISOString(), supervisorPid: process.pid, tasks: this.tasks })
  }

  async shutdown(): Promise<void> {
    if (this.shuttingDown) return
    this.shuttingDown = true
    for (const s of this.lbServers) s.close()
    const exits = [...this.children.entries()].map(([id, child]) => {
      const task = this.tasks.find((t) => t.id === id)!
      const grace = parseDuration(this.state.services[task.service].stopGrace)
      return new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        const timer = setTimeout(() => child.kill('SIGKILL'), grace)
        child.once('exit', () => {
          clearTimeout(timer)
          resolve()
        })
        child.kill('SIGTERM')
      })
    })
    await Promise.all(exits)
    this.flush()
    // then the infrastructure, as an operator would: SIGTERM, SIGKILL after a grace
    await Promise.all(
      [...this.infra.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve()
            const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
            child.once('exit', () => {
              clearTimeout(timer)
              resolve()
            })
            child.kill('SIGCONT')
            child.kill('SIGTERM')
          }),
      ),
    )
    await this.proxy?.close()
  }
}

async function main(): Promise<void> {
  const stateDir = process.argv[2]
  const state = stateDir ? readState(stateDir) : undefined
  if (!state) {
    console.error(`supervisor: no environment state in ${stateDir}`)
    process.exit(2)
  }
  writeFileSync(state.supervisorPidFile, String(process.pid))
  const supervisor = new Supervisor(state)
  const stop = () => void supervisor.shutdown().then(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  await supervisor.start()
  console.log(JSON.stringify({ event: 'supervisor.ready', pid: process.pid }))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
