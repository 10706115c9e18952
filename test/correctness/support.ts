/**
 * Test support for the correctness probes and faults: a real nats-server with JetStream and
 * monitoring (server name n1, so the probes' health checks and the store-corruption fault work on
 * it), an Environment over it and a redis-server, and a ProbeContext writing artifacts to a temp
 * directory. Everything is killed by `stop()`, test failed or not.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Environment, NodeInfo, TaskInfo, Topology } from '../../src/api/environment.ts'
import type { FaultContext, Json } from '../../src/api/fault.ts'
import type { FaultEvent, ProbeContext } from '../../src/api/probe.ts'
import { createRng } from '../../src/util/rng.ts'
import { canConnect, freePort } from '../../src/util/ports.ts'
import { waitFor } from '../../src/util/abort.ts'
import type { TestServer } from '../support/servers.ts'

export interface MonitoredNats {
  url: string
  port: number
  monitorUrl: string
  dir: string
  storeDir: string
  readonly process: ChildProcess
  running(): boolean
  kill(): Promise<void>
  start(): Promise<void>
  pause(): void
  resume(): void
  stop(): Promise<void>
}

/** One nats-server (JetStream on, monitoring on, server_name n1); `kill`/`start` keep its store. */
export async function startMonitoredNats(): Promise<MonitoredNats> {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-correctness-nats-'))
  const [port, httpPort] = [await freePort(), await freePort()]
  const storeDir = join(dir, 'store')
  const conf = join(dir, 'nats.conf')
  writeFileSync(conf, `server_name: n1\nlisten: 127.0.0.1:${port}\nhttp: 127.0.0.1:${httpPort}\njetstream { store_dir: "${storeDir}" }\n`)
  let child!: ChildProcess
  let exited: Promise<void> = Promise.resolve()
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null
  const start = async () => {
    if (running()) return
    child = spawn('nats-server', ['-c', conf], { stdio: ['ignore', 'ignore', 'ignore'] })
    const c = child
    exited = new Promise<void>((resolve) => c.once('exit', () => resolve()))
    await waitFor(
      'nats-server to listen',
      async () => {
        if (c.exitCode !== null) throw new Error('nats-server exited')
        if (!(await canConnect(port))) return false
        const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined)
        return res?.ok === true
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    )
  }
  const kill = async () => {
    if (!running()) return
    child.kill('SIGCONT')
    child.kill('SIGKILL')
    await exited
  }
  await start()
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorUrl: `http://127.0.0.1:${httpPort}`,
    dir,
    storeDir,
    get process() {
      return child
    },
    running,
    kill,
    start,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    async stop() {
      await kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** An Environment over one real nats-server (cluster `core`, node n1 in az-a), optionally a redis-server and a gateway's URL. */
export function singleNodeEnv(nats: MonitoredNats, redis?: TestServer, opts: { gateway?: string } = {}): Environment {
  const node: NodeInfo = { cluster: 'core', name: 'n1', az: 'az-a' }
  const topo: Topology = { azs: ['az-a'], clusters: { core: { name: 'core', nodes: [node] } }, caches: redis ? { cache: { name: 'cache' } } : {}, services: {} }
  return {
    kind: 'local',
    source: 'test',
    topology: () => topo,
    capability: () => undefined,
    endpoints: {
      natsServers: () => [nats.url],
      natsMonitor: () => nats.monitorUrl,
      redis: () => {
        if (!redis) throw new Error('no redis in this test environment')
        return { host: redis.host, port: redis.port }
      },
      gateway: () => opts.gateway ?? 'http://127.0.0.1:1',
    },
    nodes: {
      describe: (action, node) => [`${action} ${node.name}`],
      kill: () => nats.kill(),
      stop: () => nats.kill(),
      start: () => nats.start(),
      pause: async () => nats.pause(),
      resume: async () => nats.resume(),
      isRunning: async () => nats.running(),
      storeDir: () => nats.storeDir,
    },
    tasks: {
      list: async (): Promise<TaskInfo[]> => [],
      stop: async () => {},
      kill: async () => {},
      waitForDesired: async () => {},
    },
    isUp: async () => true,
    up: async () => {},
    down: async () => {},
    status: async () => ({ up: true, lines: [] }),
  }
}

export interface TestProbeContext extends ProbeContext {
  dir: string
  evidences: { kind: string; data: Json }[]
  emitFault(e: Omit<FaultEvent, 'at'>): void
  cleanup(): void
}

export function probeContext(env: Environment, name = 'probe', seed = 1): TestProbeContext {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-correctness-artifacts-'))
  const evidences: { kind: string; data: Json }[] = []
  const listeners = new Set<(e: FaultEvent) => void>()
  const controller = new AbortController()
  const t0 = performance.now()
  return {
    env,
    name,
    now: () => performance.now() - t0,
    phase: 'during',
    rng: createRng(seed),
    log: { info: () => {}, warn: () => {} },
    signal: controller.signal,
    artifactPath: (file) => join(dir, `${name}.during.${file}`),
    evidence: (kind, data) => void evidences.push({ kind, data }),
    onFault: (l) => {
      listeners.add(l)
      return () => listeners.delete(l)
    },
    dir,
    evidences,
    emitFault: (e) => listeners.forEach((l) => l({ ...e, at: performance.now() - t0 })),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}

export function faultContext(env: Environment, seed = 1): FaultContext & { evidences: { kind: string; data: Json }[]; checkpoints: Json[] } {
  const evidences: { kind: string; data: Json }[] = []
  const checkpoints: Json[] = []
  return {
    env,
    runId: 'test-run',
    rng: createRng(seed),
    log: { info: () => {}, warn: () => {} },
    signal: new AbortController().signal,
    evidence: (kind, data) => void evidences.push({ kind, data }),
    dryRun: false,
    checkpoint: (s) => void checkpoints.push(s),
    evidences,
    checkpoints,
  }
}
