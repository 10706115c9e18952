/**
 * The ECS stand-in's container runtime (the containers environment): a task is a container on
 * the environment's network — an `image:` service's image, or the node image running an `entry:`
 * from the bind-mounted repository — with docker-init as PID 1, so SIGTERM reaches the task and
 * zombies are reaped. Its output is its container log (Docker keeps it, so a restarted controller
 * replays it); its exit is Docker's `die` event, or, should the event stream miss it, what a
 * periodic look at the containers finds.
 */
import { constants } from 'node:os'
import { createInterface } from 'node:readline'
import type Dockerode from 'dockerode'
import type { AdoptedTask, LineSink, RunningTask, TaskLaunch, TaskRuntime } from '../ecs/runtime.ts'
import type { TaskExit } from '../ecs/task.ts'
import { sleep } from '../../util/abort.ts'
import { ignoreGone, LABEL, listContainers, testcontainers } from './docker.ts'
import { PORTS, startContainer } from './builder.ts'
import { containerName, type ControllerSpec } from './protocol.ts'

const SYNC_INTERVAL_MS = 1000

/** 128 + n is how a process killed by signal n exits (docker-init passes it on). */
function exitOf(code: number | null, at?: string): TaskExit {
  const signal = code !== null && code > 128 ? (Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0] ?? null) : null
  return { code, signal, ...(at ? { at } : {}) }
}

/** The exit code in a container's status line, "Exited (137) 2 seconds ago". */
const exitCodeIn = (status: string | undefined): number | null => {
  const m = /Exited \((\d+)\)/.exec(status ?? '')
  return m ? Number(m[1]) : null
}

export class ContainerRuntime implements TaskRuntime {
  private readonly pending = new Map<string, (exit: TaskExit) => void>()
  private readonly exits = new Map<string, Promise<TaskExit>>()
  /** containers that started (or were adopted): only those can be found gone by looking */
  private readonly started = new Set<string>()
  private watching = false

  constructor(
    private readonly spec: ControllerSpec,
    private readonly docker: Dockerode,
  ) {}

  async taskPort(): Promise<number> {
    return PORTS.task
  }

  private labels(launch: { id: string; service: string; az: string }): Record<string, string> {
    return { ...this.spec.labels, [LABEL.role]: 'task', [LABEL.service]: launch.service, [LABEL.task]: launch.id, [LABEL.az]: launch.az }
  }

  async start(launch: TaskLaunch, lines: LineSink): Promise<RunningTask> {
    this.watch()
    const def = launch.definition
    const name = containerName(this.spec.envId, launch.id)
    const exited = this.exitFor(name)
    try {
      const started = await startContainer({
        image: def.image ?? this.spec.nodeImage,
        name,
        network: this.spec.network,
        alias: launch.id,
        labels: this.labels(launch),
        ...(def.entry ? { command: ['node', '--import', 'tsx', def.entry] } : launch.command ? { command: launch.command } : {}),
        // a task with a port listens on the network: the load balancer is another container
        env: { ...launch.env, ...(launch.port !== undefined ? { HOST: '0.0.0.0' } : {}) },
        init: true,
        // an entry runs from the repository; either kind gets the environment's CA and client
        // certificates at their host paths (the environment's folder may lie outside the repository)
        binds: [
          ...(def.entry ? [{ source: this.spec.repoRoot, target: this.spec.repoRoot, mode: 'ro' as const }] : []),
          ...(this.spec.taskBinds ?? []).map((path) => ({ source: path, target: path, mode: 'ro' as const })),
        ],
        ...(def.entry ? { workingDir: this.spec.repoRoot } : {}),
        stopTimeoutS: Math.max(1, Math.ceil(def.stopGraceMs / 1000)),
      })
      this.started.add(name)
      this.follow(name, lines)
      return { container: name, host: started.getIpAddress(this.spec.network), exited, signal: (sig) => this.signal(name, sig) }
    } catch (err) {
      this.pending.delete(name)
      this.exits.delete(name)
      // a container created but not started (a missing image pulls, a start that fails) is not left behind
      await ignoreGone(this.docker.getContainer(name).remove({ force: true, v: true }))
      throw err
    }
  }

  async adopt(lines: (id: string) => LineSink): Promise<AdoptedTask[]> {
    this.watch()
    const found = await listContainers(this.docker, { [LABEL.env]: this.spec.envId, [LABEL.role]: 'task' })
    found.sort((a, b) => a.Created - b.Created)
    return found.flatMap((c): AdoptedTask[] => {
      const id = c.Labels[LABEL.task]
      const service = c.Labels[LABEL.service]
      if (!id || !service) return []
      const name = c.Names[0]?.replace(/^\//, '') ?? c.Id
      const base = { id, service, az: c.Labels[LABEL.az] ?? '', startedAt: new Date(c.Created * 1000).toISOString() }
      if (c.State !== 'running') return [{ ...base, exit: exitOf(exitCodeIn(c.Status)) }]
      const exited = this.exitFor(name)
      this.started.add(name)
      this.follow(name, lines(id)) // replays its log: ready, draining
      const host = c.NetworkSettings?.Networks?.[this.spec.network]?.IPAddress ?? ''
      return [{ ...base, running: { container: name, host, exited, signal: (sig) => this.signal(name, sig) } }]
    })
  }

  async forget(task: { container?: string }): Promise<void> {
    if (task.container) await ignoreGone(this.docker.getContainer(task.container).remove({ force: true, v: true }))
  }

  private async signal(name: string, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    await ignoreGone(this.docker.getContainer(name).kill({ signal }))
  }

  private exitFor(name: string): Promise<TaskExit> {
    let exit = this.exits.get(name)
    if (!exit) {
      exit = new Promise<TaskExit>((resolve) => this.pending.set(name, resolve))
      this.exits.set(name, exit)
    }
    return exit
  }

  private exited(name: string, exit: TaskExit): void {
    const resolve = this.pending.get(name)
    if (!resolve) return
    this.pending.delete(name)
    this.exits.delete(name)
    this.started.delete(name)
    resolve(exit)
  }

  /** Reads a task's log from its first line; when it ends, the container stopped: make sure it is noticed. */
  private follow(name: string, lines: LineSink): void {
    void (async () => {
      const tc = await testcontainers()
      const client = await tc.getContainerRuntimeClient()
      const stream = await client.container.logs(client.container.getById(name), { since: 0 })
      createInterface({ input: stream }).on('line', lines)
      await new Promise<void>((resolve) => {
        stream.once('end', resolve)
        stream.once('close', resolve)
        stream.once('error', () => resolve())
      })
      await this.sync()
    })().catch((err: Error) => process.stdout.write(JSON.stringify({ event: 'task.follow-failed', container: name, error: err.message }) + '\n'))
  }

  /** Docker's view of the started containers we wait on: any no longer running has exited. */
  private async sync(): Promise<void> {
    if (!this.started.size) return
    const containers = await listContainers(this.docker, { [LABEL.env]: this.spec.envId, [LABEL.role]: 'task' })
    const byName = new Map(containers.map((c) => [c.Names[0]?.replace(/^\//, ''), c]))
    for (const name of [...this.started].filter((n) => this.pending.has(n))) {
      const c = byName.get(name)
      if (!c) {
        // not listed: removed behind our back, or the listing raced a change: ask for it by name
        const info = await ignoreGone(this.docker.getContainer(name).inspect())
        if (!info) this.exited(name, exitOf(null))
        else if (!info.State.Running && info.State.Status !== 'created') this.exited(name, exitOf(info.State.ExitCode, info.State.FinishedAt))
      } else if (c.State !== 'running' && c.State !== 'created' && c.State !== 'paused') {
        this.exited(name, exitOf(exitCodeIn(c.Status)))
      }
    }
  }

  /** Docker's `die` events for this environment's tasks, and a periodic look in case the stream missed one. */
  private watch(): void {
    if (this.watching) return
    this.watching = true
    void (async () => {
      for (;;) {
        try {
          const stream = (await this.docker.getEvents({
            filters: { type: ['container'], event: ['die'], label: [`${LABEL.env}=${this.spec.envId}`, `${LABEL.role}=task`] },
          })) as NodeJS.ReadableStream
          for await (const line of createInterface({ input: stream as NodeJS.ReadableStream & AsyncIterable<string> })) {
            try {
              const e = JSON.parse(line) as { time?: number; timeNano?: number; Actor?: { Attributes?: Record<string, string> } }
              const attrs = e.Actor?.Attributes ?? {}
              const at = e.timeNano ? new Date(e.timeNano / 1e6).toISOString() : e.time ? new Date(e.time * 1000).toISOString() : undefined
              if (attrs.name) this.exited(attrs.name, exitOf(attrs.exitCode !== undefined ? Number(attrs.exitCode) : null, at))
            } catch {
              // not an event line: the next one is
            }
          }
        } catch (err) {
          process.stdout.write(JSON.stringify({ event: 'events.error', error: (err as Error).message }) + '\n')
        }
        await sleep(500)
      }
    })()
    void (async () => {
      for (;;) {
        await sleep(SYNC_INTERVAL_MS)
        await this.sync().catch((err: Error) => process.stdout.write(JSON.stringify({ event: 'sync.error', error: err.message }) + '\n'))
      }
    })()
  }
}
