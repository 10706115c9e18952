import { describe, expect, it } from 'vitest'
import { natsLameDuck, type LameDuckTiming } from './nats-lame-duck.ts'
import { MemoryEnvironment } from '../../test/support/memory-environment.ts'
import type { NodeInfo } from '../../src/api/environment.ts'
import type { FaultContext, Json } from '../../src/api/fault.ts'
import type { TargetSelector } from '../../src/api/selector.ts'
import { UnsupportedError } from '../../src/api/errors.ts'
import { createRng } from '../../src/util/rng.ts'

/** A memory environment whose servers, in lame duck, exit by themselves a little later (as nats-server does). */
function setup(opts: { lameDuck?: boolean; exitAfterMs?: number } = {}) {
  const env = new MemoryEnvironment()
  if (opts.lameDuck !== false) {
    const nodes = env.nodes as MemoryEnvironment['nodes'] & { lameDuck?: (n: NodeInfo) => Promise<void> }
    nodes.lameDuck = async (n) => {
      env.events.push(`ldm ${n.name}`)
      setTimeout(() => {
        env.down_.add(n.name)
        env.events.push(`exited ${n.name}`)
      }, opts.exitAfterMs ?? 30)
    }
  }
  const evidence: { kind: string; data: Json }[] = []
  const abort = new AbortController()
  const ctx = {
    env,
    runId: 'run-1',
    rng: createRng(1),
    log: { info() {}, warn() {} },
    signal: abort.signal,
    evidence: (kind: string, data: Json) => void evidence.push({ kind, data }),
    dryRun: false,
    checkpoint() {},
  } as FaultContext
  return { env, ctx, evidence, abort }
}

const spec = (target: TargetSelector, params: Record<string, unknown> = {}) => ({
  type: 'nats.lame-duck',
  target,
  // no monitoring endpoints in memory: do not wait for cluster health
  params: natsLameDuck.params.parse({ waitHealthy: false, ...params }),
})

describe('nats.lame-duck', () => {
  it('takes every server in turn: lame duck, wait for its exit, start it, then the next', async () => {
    const { env, ctx, evidence } = setup()
    const s = spec({ cluster: 'core' })
    const targets = await natsLameDuck.resolve(ctx, s)
    expect(targets.map((t) => t.wave)).toEqual([1, 2, 3, 4, 5]) // one server at a time
    const state = await natsLameDuck.inject(ctx, s, targets)
    expect(state).toEqual({ cluster: 'core', nodes: ['n1', 'n2', 'n3', 'n4', 'n5'] })
    expect(env.events).toEqual(['n1', 'n2', 'n3', 'n4', 'n5'].flatMap((n) => [`ldm ${n}`, `exited ${n}`, `start ${n}`]))
    const timings = evidence.filter((e) => e.kind === 'nats.lame-duck').map((e) => e.data as unknown as LameDuckTiming)
    expect(timings.map((t) => t.node)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5'])
    for (const t of timings) {
      expect(t.exitMs).toBeGreaterThanOrEqual(25)
      expect(t.restartMs).toBeGreaterThanOrEqual(0)
      expect(t.summary).toMatch(new RegExp(`^${t.node}: lame duck → exited after \\d+ms; listening again [\\d.]+m?s after the restart$`))
    }
  })

  it('selects servers like the other node faults (an AZ, a seeded count)', async () => {
    const { ctx } = setup()
    expect((await natsLameDuck.resolve(ctx, spec({ cluster: 'core', az: 'az-b' }))).map((t) => t.id)).toEqual(['n3', 'n4'])
    const pick = async (seed: number) => (await natsLameDuck.resolve({ ...ctx, rng: createRng(seed) }, spec({ count: 2 }))).map((t) => t.id)
    expect(await pick(3)).toEqual(await pick(3))
  })

  it('refuses an environment that cannot put a server into lame duck, before touching anything', async () => {
    const { env, ctx } = setup({ lameDuck: false })
    const s = spec({ cluster: 'core', nodes: ['n2'] })
    await expect(natsLameDuck.inject(ctx, s, await natsLameDuck.resolve(ctx, s))).rejects.toThrow(UnsupportedError)
    expect(env.events).toEqual([])
  })

  it('refuses at resolve (so at plan) when the environment says it cannot (AWS: its describe throws)', async () => {
    const { env, ctx } = setup()
    env.nodes.describe = (action) => {
      if (action === 'lameDuck') throw new UnsupportedError('AWS cannot put a NATS server into lame duck mode')
      return []
    }
    const s = spec({ cluster: 'core', nodes: ['n2'] })
    await expect(natsLameDuck.resolve(ctx, s)).rejects.toThrow(UnsupportedError)
    expect(() => natsLameDuck.describe(ctx, s, [{ kind: 'node', id: 'n2', cluster: 'core', az: 'az-a' }])).toThrow(/AWS cannot put/)
    expect(env.events).toEqual([])
  })

  it('without restart leaves the servers down until the revert starts them', async () => {
    const { env, ctx } = setup()
    const s = spec({ cluster: 'core', nodes: ['n1', 'n5'] }, { restart: false })
    const state = await natsLameDuck.inject(ctx, s, await natsLameDuck.resolve(ctx, s))
    expect([...env.down_].sort()).toEqual(['n1', 'n5'])
    await natsLameDuck.revert(ctx, s, state)
    expect(env.down_.size).toBe(0)
    expect(env.events.filter((e) => e.startsWith('start'))).toEqual(['start n1', 'start n5'])
  })

  it('reverted in the middle of a lame duck: waits for the server to exit, then starts it', async () => {
    const { env, ctx, abort } = setup({ exitAfterMs: 200 })
    const s = spec({ cluster: 'core', nodes: ['n3'] })
    const targets = await natsLameDuck.resolve(ctx, s)
    const injecting = natsLameDuck.inject(ctx, s, targets)
    await new Promise((r) => setTimeout(r, 50))
    abort.abort(new Error('aborted'))
    await expect(injecting).rejects.toThrow()
    expect(env.events).toEqual(['ldm n3'])
    // the engine reverts with a fresh signal
    await natsLameDuck.revert({ ...ctx, signal: new AbortController().signal }, s, natsLameDuck.stateFromTargets!(targets))
    expect(env.events).toEqual(['ldm n3', 'exited n3', 'start n3'])
    expect(env.down_.size).toBe(0)
  })

  it('describes the roll for plan', async () => {
    const { ctx } = setup()
    const s = spec({ cluster: 'core', az: 'az-c' }, { waitHealthy: true })
    expect(natsLameDuck.describe(ctx, s, await natsLameDuck.resolve(ctx, s))).toEqual([
      '1. lame duck NATS node n5 (az-c), wait for it to exit (within 3m), start it again and wait for the cluster to be whole',
    ])
  })
})
