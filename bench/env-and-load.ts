/**
 * npm run bench — figures for the spine, all measured in this run on this machine:
 *  1. `env up` of the local environment (three runs, median): time to a healthy 5-node cluster with
 *     a JetStream meta leader, and to every service ready, next to the goal (≤ 3 s); the same for
 *     the production shapes (local-secure: NATS TLS and accounts, Redis Cluster with TLS and AUTH;
 *     local-redis-cluster), their runs interleaved with the default's, next to it and to their
 *     goal (≤ 15 s);
 *  2. the request-slo load generator (open loop, HDR histograms, per-second series) against a
 *     bare @nats-io/transport-node request loop: highest sustained request rate of each, and the ratio;
 *  3. the p99 the generator reports at a fixed rate;
 *  4. `env up` of the containers environment and of its production shapes (containers-secure,
 *     containers-redis-cluster), interleaved, each to every service ready, next to the default's
 *     and to the 15 s goal (when a Docker engine answers).
 * Prints figures; never fails on a slow machine. `npm run bench -- --env-up` measures 1 and 4.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { connect } from '@nats-io/transport-node'
import { startNatsServer } from '../test/support/servers.ts'
import { OpenLoopLoad } from '../src/load/open-loop.ts'
import { loadEnvironment } from '../src/environments/load.ts'
import { observeCluster } from '../src/nats/monitor.ts'
import { REPO_ROOT, nodeCommand } from '../src/util/node-entry.ts'
import { sleep } from '../src/util/abort.ts'

const quiet = { info: () => {}, warn: (m: string) => console.error(m) }
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`

/** The goals for `env up` to a healthy cluster and ready services: the default (issue 10), the production shapes (issue 12). */
const ENV_UP_SHAPES = [
  { name: 'local', goalMs: 3000 },
  { name: 'local-secure', goalMs: 15_000 },
  { name: 'local-redis-cluster', goalMs: 15_000 },
]
const ENV_UP_RUNS = 3

/** One `env up` of an environment file in a fresh state dir: ms to a healthy cluster with a meta leader, and to every service ready. */
async function timeEnvUp(envName: string): Promise<{ cluster: number; all: number }> {
  const stateDir = join(mkdtempSync(join(tmpdir(), 'gameday-bench-env-')), 'state')
  process.env.GAMEDAY_LOCAL_STATE_DIR = stateDir
  // a containers environment under an id of the bench's own, its CA in the same temporary folder
  process.env.GAMEDAY_CONTAINERS_ENV = `bench-${process.pid}`
  process.env.GAMEDAY_CONTAINERS_STATE_DIR = join(stateDir, '..', 'containers')
  const env = await loadEnvironment(join(REPO_ROOT, 'environments', `${envName}.yaml`))
  const t0 = performance.now()
  let cluster = NaN
  let polling = true
  const poll = (async () => {
    while (polling) {
      try {
        if ((await observeCluster(env, 'core', 500)).healthy) {
          cluster = performance.now() - t0
          return
        }
      } catch {
        // not up yet
      }
      // a containers environment not yet discovered asks the docker CLI synchronously: not too often
      await sleep(env.kind === 'containers' ? 250 : 20)
    }
  })()
  try {
    await env.up(quiet)
    const all = performance.now() - t0
    polling = false
    await poll
    return { cluster, all }
  } finally {
    polling = false
    await env.down(quiet)
    await env.close?.()
    rmSync(join(stateDir, '..'), { recursive: true, force: true })
    delete process.env.GAMEDAY_LOCAL_STATE_DIR
    delete process.env.GAMEDAY_CONTAINERS_ENV
    delete process.env.GAMEDAY_CONTAINERS_STATE_DIR
  }
}

/** The production shapes on containers, next to the default containers environment (all with their services). */
const CONTAINERS_ENV_UP_SHAPES = [
  { name: 'containers', goalMs: 15_000 },
  { name: 'containers-secure', goalMs: 15_000 },
  { name: 'containers-redis-cluster', goalMs: 15_000 },
]

/** Each shape's `env up` ENV_UP_RUNS times, round by round (a machine that gets busier mid-bench weighs on every shape alike), each median next to the first shape's. */
async function benchEnvUp(shapes: { name: string; goalMs: number }[]): Promise<void> {
  const runs = new Map<string, { cluster: number; all: number }[]>(shapes.map((s) => [s.name, []]))
  for (let i = 0; i < ENV_UP_RUNS; i++) for (const shape of shapes) runs.get(shape.name)!.push(await timeEnvUp(shape.name))
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const base = shapes[0].name
  const baseline = median(runs.get(base)!.map((r) => r.all))
  for (const { name, goalMs } of shapes) {
    const shapeRuns = runs.get(name)!
    for (const [i, r] of shapeRuns.entries())
      console.log(`  env up (${name}) run ${i + 1}: healthy cluster with a JetStream meta leader ${fmt(r.cluster)}, every service ready ${fmt(r.all)}`)
    const all = median(shapeRuns.map((r) => r.all))
    console.log(
      `env up (${name}), median of ${ENV_UP_RUNS}: healthy cluster ${fmt(median(shapeRuns.map((r) => r.cluster)))}; every service ready ${fmt(all)}${name === base ? '' : ` = ${(all / baseline).toFixed(1)} × ${base}`} — goal ≤ ${fmt(goalMs)} (${all <= goalMs ? 'met' : `${fmt(all - goalMs)} over`})`,
    )
  }
}

async function bareLoop(url: string, concurrency: number, seconds: number): Promise<number> {
  const nc = await connect({ servers: url })
  const deadline = performance.now() + seconds * 1000
  let n = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await nc.request('bench.echo', 'x', { timeout: 2000 })
        n++
      }
    }),
  )
  await nc.close()
  return n / seconds
}

async function generator(url: string, rate: number, seconds: number) {
  const nc = await connect({ servers: url })
  const load = new OpenLoopLoad({
    rate,
    send: async () => {
      try {
        await nc.request('bench.echo', 'x', { timeout: 2000 })
        return { ok: true }
      } catch (err) {
        return { ok: false, errorClass: (err as Error).name }
      }
    },
  })
  load.start()
  await sleep(seconds * 1000)
  await load.stop()
  await nc.close()
  return load.metrics()
}

async function benchLoad(): Promise<void> {
  const server = await startNatsServer({ jetstream: false })
  const { command, args } = nodeCommand('bench/responder.ts')
  const responder = spawn(command, [...args, server.url], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve) => createInterface({ input: responder.stdout! }).once('line', () => resolve()))
  try {
    await bareLoop(server.url, 64, 1) // warm-up
    const bare = Math.max(await bareLoop(server.url, 64, 3), await bareLoop(server.url, 256, 3))
    console.log(`bare @nats-io/transport-node request loop (closed loop, 64–256 in flight): ${Math.round(bare)} req/s`)
    // the generator's highest sustained rate: achieved ≥ 97% of target, ≥ 99.9% ok, p99 < 100 ms
    let best = 0
    for (let rate = 2000; rate <= 64000; rate = Math.round(rate * 1.4)) {
      const m = await generator(server.url, rate, 3)
      const sustained = (m.achievedRate as number) >= rate * 0.97 && (m.successRate as number) >= 0.999 && (m.p99 as number) < 100
      console.log(
        `  generator at ${rate} req/s: achieved ${Math.round(m.achievedRate as number)}, ok ${((m.successRate as number) * 100).toFixed(2)}%, p99 ${(m.p99 as number).toFixed(2)} ms${sustained ? '' : '  ← not sustained'}`,
      )
      if (!sustained) break
      best = rate
    }
    console.log(`request-slo generator highest sustained rate: ${best} req/s = ${(best / bare).toFixed(2)} × the bare loop`)
    const fixed = await generator(server.url, 1000, 5)
    console.log(
      `request-slo at a fixed 1000 req/s for 5 s: p50 ${(fixed.p50 as number).toFixed(2)} ms, p99 ${(fixed.p99 as number).toFixed(2)} ms, p99.9 ${(fixed.p999 as number).toFixed(2)} ms, ok ${((fixed.successRate as number) * 100).toFixed(2)}%`,
    )
  } finally {
    responder.kill('SIGKILL')
    await server.stop()
  }
}

/**
 * ms from nothing to a healthy cluster — every node up, full route mesh, a JetStream meta leader —
 * and Redis, in a fresh containers environment of its own (environments/containers.yaml without
 * its services); then down.
 */
async function timeContainersUp(): Promise<number> {
  const { ContainersEnvironment } = await import('../src/environments/containers/environment.ts')
  const { parseEnvironmentFile } = await import('../src/environments/load.ts')
  const { environmentFile } = await import('../src/environments/locate.ts')
  const file = environmentFile('containers')
  const config = parseEnvironmentFile(file).config as ConstructorParameters<typeof ContainersEnvironment>[0]
  const env = new ContainersEnvironment({ ...config, services: {} }, file, { envId: `bench-${process.pid}` })
  const t0 = performance.now()
  try {
    await env.up(quiet)
    return performance.now() - t0
  } finally {
    await env.down(quiet)
  }
}

async function benchContainers(): Promise<void> {
  try {
    console.log(`env up (containers): healthy 5-node cluster with JetStream ready in ${fmt(await timeContainersUp())}`)
  } catch (err) {
    console.log(`env up (containers): not measured — ${(err as Error).message}`)
  }
}

console.log(`gameday bench — ${new Date().toISOString()} — node ${process.version}`)
await benchEnvUp(ENV_UP_SHAPES)
try {
  await benchEnvUp(CONTAINERS_ENV_UP_SHAPES)
} catch (err) {
  console.log(`env up (containers shapes): not measured — ${(err as Error).message}`)
}
if (!process.argv.includes('--env-up')) {
  await benchContainers()
  await benchLoad()
}
