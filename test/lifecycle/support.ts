/**
 * Test support for lifecycle tests: a small NATS cluster whose servers can be put into lame
 * duck mode (SIGUSR2) with a short grace period, and a probe context for running a probe
 * outside the engine.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from '@nats-io/transport-node'
import type { Environment } from '../../src/api/environment.ts'
import type { Json } from '../../src/api/fault.ts'
import type { ProbeContext } from '../../src/api/probe.ts'
import { freePort } from '../../src/util/ports.ts'
import { waitFor } from '../../src/util/abort.ts'
import { createRng } from '../../src/util/rng.ts'

export interface ClusterServer {
  name: string
  url: string
  port: number
  pid: number
  exited: Promise<void>
  /** SIGUSR2: lame duck mode; resolves once the server has exited by itself */
  lameDuck(): Promise<void>
}

export interface Cluster {
  servers: ClusterServer[]
  dir: string
  stop(): Promise<void>
}

/** `size` nats-servers in one cluster on loopback (no JetStream), lame-duck grace `grace`. */
export async function lameDuckableCluster(size: number, opts: { grace?: string } = {}): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-ldm-'))
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), cluster: await freePort() })))
  const servers = ports.map((p, i): ClusterServer => {
    const name = `s${i + 1}`
    const conf = join(dir, `${name}.conf`)
    const routes = ports.filter((_, j) => j !== i).map((q) => `"nats-route://127.0.0.1:${q.cluster}"`)
    writeFileSync(
      conf,
      `server_name: ${name}\nlisten: 127.0.0.1:${p.client}\nlame_duck_duration: "30s"\nlame_duck_grace_period: "${opts.grace ?? '500ms'}"\n` +
        `cluster { name: t, listen: 127.0.0.1:${p.cluster}, routes: [${routes.join(', ')}] }\n`,
    )
    const child = spawn('nats-server', ['-c', conf], { stdio: 'ignore' })
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    return {
      name,
      url: `nats://127.0.0.1:${p.client}`,
      port: p.client,
      pid: child.pid!,
      exited,
      lameDuck: async () => {
        process.kill(child.pid!, 'SIGUSR2')
        await exited
      },
    }
  })
  const stop = async () => {
    for (const s of servers) {
      try {
        process.kill(s.pid, 'SIGKILL')
      } catch {
        // gone already
      }
    }
    await Promise.all(servers.map((s) => s.exited))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (const s of servers) {
      await waitFor(`nats-server ${s.name}`, async () => connect({ servers: s.url }).then((nc) => nc.close().then(() => true)), {
        timeoutMs: 10_000,
        intervalMs: 50,
      })
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { servers, dir, stop }
}

/** Waits until a request on `subject` sent through `url` finds a responder (routes carry the interest). */
export async function waitForResponder(url: string, subject: string, payload: Uint8Array | string = ''): Promise<void> {
  const nc = await connect({ servers: url })
  try {
    await waitFor(`a responder for ${subject} through ${url}`, async () => nc.request(subject, payload, { timeout: 1000 }).then(() => true), {
      timeoutMs: 10_000,
      intervalMs: 100,
    })
  } finally {
    await nc.close()
  }
}

/**
 * A probe context for running a probe outside the engine; evidence is collected. The environment
 * has the given endpoints, no services unless `env` brings its own topology and task control.
 */
export function probeContext(
  endpoints: Partial<Environment['endpoints']>,
  artifactsDir: string,
  env: Partial<Environment> = {},
): ProbeContext & { evidenceKinds: string[]; evidenceData: { kind: string; data: Json }[] } {
  const evidenceKinds: string[] = []
  const evidenceData: { kind: string; data: Json }[] = []
  return {
    env: {
      kind: 'local',
      endpoints,
      topology: () => ({ azs: [], clusters: {}, caches: {}, services: {} }),
      tasks: { list: async () => [] },
      ...env,
    } as unknown as Environment,
    name: 'drain-test',
    phase: 'during',
    rng: createRng(1),
    log: { info() {}, warn() {} },
    signal: new AbortController().signal,
    artifactPath: (f: string) => join(artifactsDir, f),
    evidence: (kind: string, data: Json) => {
      evidenceKinds.push(kind)
      evidenceData.push({ kind, data })
    },
    onFault: () => () => {},
    evidenceKinds,
    evidenceData,
  } as unknown as ProbeContext & { evidenceKinds: string[]; evidenceData: { kind: string; data: Json }[] }
}
