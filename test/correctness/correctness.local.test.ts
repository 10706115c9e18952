/**
 * Correctness under faults, end to end on the real local environment through the CLI:
 * - deliberately broken adapters are caught by each probe (a checker that cannot fail is worthless);
 * - the three shipped experiments: jetstream-leader-kill, kv-cas-under-kill, redis-cas-restart
 *   (player-state-cas has its own file).
 * Every process of every environment is killed afterwards, whatever happened.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { killHard, processesOf } from '../../src/environments/local/processes.ts'
import { REPO_ROOT } from '../../src/util/node-entry.ts'
import type { RunResult } from '../../src/reports/result.ts'

const root = mkdtempSync(join(tmpdir(), 'gameday-correctness-'))
/** `nats-server: v2.9.10` → 2.9.10; the KV CAS bug nats-server#4320 was fixed in 2.10 */
const NATS_VERSION = /v(\d+\.\d+\.\d+)/.exec(execFileSync('nats-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? '0.0.0'
const NATS_BEFORE_2_10 = (([major, minor]) => major! < 2 || (major === 2 && minor! < 10))(NATS_VERSION.split('.').map(Number))
const stateDirs: string[] = []

afterAll(async () => {
  for (const dir of stateDirs) for (const pid of processesOf(dir)) await killHard(pid)
  rmSync(root, { recursive: true, force: true })
})

function gameday(args: string[], stateDir: string, env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  if (!stateDirs.includes(stateDir)) stateDirs.push(stateDir)
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/gameday.js'), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, GAMEDAY_LOCAL_STATE_DIR: stateDir, GAMEDAY_FROM_SOURCE: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout!.on('data', (d) => (output += d))
    child.stderr!.on('data', (d) => (output += d))
    child.on('exit', (code) => resolve({ code, output }))
  })
}

/** Runs one experiment with its own reports directory; returns the exit code, output and result.json. */
async function run(experiment: string, stateDir: string, env: Record<string, string> = {}, extraArgs: string[] = []) {
  const reports = mkdtempSync(join(root, 'reports-'))
  const { code, output } = await gameday(['run', experiment, '--reports', reports, '--no-live', ...extraArgs], stateDir, env)
  const [dir] = readdirSync(reports)
  const result = JSON.parse(readFileSync(join(reports, dir, 'result.json'), 'utf8')) as RunResult
  const probe = (name: string) => {
    const p = result.probes.find((x) => x.name === name && x.phase === 'during')
    if (!p) throw new Error(`no verdict for ${name}:\n${output}`)
    return p as typeof p & { metrics: Record<string, number | string | boolean>; details?: Record<string, unknown> }
  }
  return { code, output, result, probe }
}

describe('broken adapters are caught, end to end', () => {
  it('durability: acknowledged-without-store messages are lost; CAS: a skipped compare on NATS KV and the player-state service run with GAMEDAY_BROKEN=skip-cas are not linearizable', async () => {
    const stateDir = join(root, 'state-broken')
    // the local environment, with the player-state service deliberately broken
    const envFile = join(root, 'broken-env.yaml')
    const env = parse(readFileSync(join(REPO_ROOT, 'environments/local.yaml'), 'utf8'))
    env.services['player-state'].env = { GAMEDAY_BROKEN: 'skip-cas' }
    writeFileSync(envFile, stringify(env))
    const experiment = join(root, 'broken.yaml')
    writeFileSync(
      experiment,
      stringify({
        name: 'broken-adapters',
        seed: 3,
        steadyState: { probes: [{ name: 'cluster-health', probe: 'nats-cluster-health', with: { cluster: 'core' }, tolerance: 'healthy == true' }] },
        load: [
          { name: 'durability', probe: 'jetstream-durability', with: { stream: 'BROKEN_DURABILITY', rate: 100, broken: 'ack-without-store' } },
          { name: 'kv-cas', probe: 'cas-correctness', with: { store: 'nats-kv', bucket: 'broken-cas', rate: 60, broken: 'skip-compare' } },
          { name: 'player-state-cas', probe: 'cas-correctness', with: { store: 'player-state', rate: 60 } },
        ],
        method: [{ wait: '8s' }],
      }),
    )
    const r = await run(experiment, stateDir, {}, ['--env', envFile])
    expect(r.code, r.output).toBe(1)
    expect(r.result.status).toBe('deviated')

    const durability = r.probe('durability')
    expect(durability.verdict).toBe('fail')
    expect(durability.metrics.lost).toBeGreaterThan(0)
    expect(durability.metrics.unexpected).toBe(0)
    expect((durability.details!.firstLost as { publishedAt: string }[])[0].publishedAt).toMatch(/^\d{4}-\d\d-\d\dT/)

    for (const name of ['kv-cas', 'player-state-cas']) {
      const cas = r.probe(name)
      expect(cas.verdict, name).toBe('fail')
      expect(cas.metrics, name).toMatchObject({ linearizable: false, verdict: 'not linearizable' })
      expect(cas.metrics.lostUpdates, name).toBeGreaterThan(0)
      expect(
        (cas.details!.counterexample as string[]).some((l) => l.includes('✗')),
        name,
      ).toBe(true)
    }
    expect(processesOf(stateDir)).toEqual([])
  })
})

describe('the correctness experiments on the local environment', () => {
  const stateDir = join(root, 'state-shared')
  beforeAll(async () => {
    // one environment for the three runs (each run leaves an environment it did not start up)
    const up = await gameday(['env', 'up'], stateDir)
    expect(up.code, up.output).toBe(0)
  })
  afterAll(async () => {
    await gameday(['env', 'down'], stateDir)
  })

  it('jetstream-leader-kill: the stream leader killed three times under publish load, nothing acknowledged is lost', async () => {
    const r = await run('experiments/jetstream-leader-kill.yaml', stateDir)
    expect(r.code, r.output).toBe(0)
    expect(r.result.faults.map((f) => [f.type, f.state, f.targets[0].role])).toEqual(Array(3).fill(['nats.kill-node', 'reverted', 'stream-leader']))
    const d = r.probe('durability')
    expect(d.metrics).toMatchObject({ lost: 0, unexpected: 0, drained: true })
    expect(d.metrics.read).toBeGreaterThanOrEqual(d.metrics.acknowledged as number)
    console.log(`jetstream-leader-kill: ${JSON.stringify(d.metrics)}`)
  })

  it('kv-cas-under-kill: contended updates under kills and pauses; on nats-server before 2.10 it deviates every run, caught in the first rounds (nats-server#4320)', async () => {
    const r = await run('experiments/kv-cas-under-kill.yaml', stateDir)
    const cas = r.probe('kv-cas')
    const details = cas.details as {
      counterexample?: string[]
      sameVersionCas?: string[]
      contention: { firstSeveralWinners?: { round: number; atMs: number } }
    }
    console.log(
      `kv-cas-under-kill (${NATS_VERSION}): ${r.result.status} ${JSON.stringify(cas.metrics)} first caught: ${JSON.stringify(details.contention.firstSeveralWinners)}\n${(details.counterexample ?? []).join('\n')}\n${(details.sameVersionCas ?? []).join('\n')}`,
    )
    expect(r.result.faults.map((f) => [f.type, f.state])).toEqual([
      ['nats.kill-node', 'reverted'],
      ['nats.pause-node', 'reverted'],
      ['nats.kill-node', 'reverted'],
    ])
    expect(cas.metrics.verdict).not.toBe('unknown')
    expect(cas.metrics.contendedRounds).toBeGreaterThanOrEqual(30)
    if (NATS_BEFORE_2_10) {
      // a replicated stream checks the expected revision outside its Raft proposal: concurrent
      // updates from one revision are all accepted — contention shows it in the first rounds
      expect(r.code, r.output).toBe(1)
      expect(cas.metrics).toMatchObject({ linearizable: false, verdict: 'not linearizable' })
      expect(cas.metrics.severalWinnerRounds).toBeGreaterThan(0)
      expect(details.counterexample!.length).toBeGreaterThan(1)
      expect(details.contention.firstSeveralWinners!.atMs).toBeLessThan(5_000)
    } else {
      expect(r.code, r.output).toBe(0)
      expect(cas.metrics).toMatchObject({ linearizable: true, severalWinnerRounds: 0, lostUpdates: 0 })
    }
  })

  it('redis-cas-restart on the local Redis (no persistence): the restart empties Redis, and the probe reports the lost acknowledged updates', async () => {
    const r = await run('experiments/redis-cas-restart.yaml', stateDir)
    const cas = r.probe('redis-cas')
    console.log(`redis-cas-restart (local redis): ${r.result.status} ${JSON.stringify(cas.metrics)}`)
    expect(r.code, r.output).toBe(1)
    expect(cas.metrics).toMatchObject({ linearizable: false, verdict: 'not linearizable' })
    expect(cas.metrics.lostUpdates).toBeGreaterThan(0)
    // a key read back as nil after acknowledged writes
    expect((cas.details!.counterexample as string[]).find((l) => l.includes('✗'))).toMatch(/read\("(k\d|counter)"\) → nil/)
  })
})

describe('redis-cas-restart with a Redis that keeps what it acknowledges', () => {
  it('passes: appendonly with fsync on every write survives the kills, the history is linearizable and no increment is lost', async () => {
    const stateDir = join(root, 'state-aof')
    // the local environment with persistence that survives SIGKILL
    const envFile = join(root, 'aof-env.yaml')
    const env = parse(readFileSync(join(REPO_ROOT, 'environments/local.yaml'), 'utf8'))
    env.caches.cache.persistence = 'aof-always'
    writeFileSync(envFile, stringify(env))
    const r = await run('experiments/redis-cas-restart.yaml', stateDir, {}, ['--env', envFile])
    const cas = r.probe('redis-cas')
    console.log(`redis-cas-restart (appendfsync always): ${r.result.status} ${JSON.stringify(cas.metrics)}`)
    expect(r.code, r.output).toBe(0)
    expect(cas.metrics).toMatchObject({ linearizable: true, lostUpdates: 0 })
    expect(cas.metrics.counterFinal).toBe(cas.metrics.counterAcked)
    expect(processesOf(stateDir)).toEqual([])
  })
})
