import { describe, expect, it } from 'vitest'
import { resolveNodes, resolveTasks, pickCount } from './select-targets.ts'
import { MemoryEnvironment } from '../../test/support/memory-environment.ts'
import { createRng } from '../util/rng.ts'
import type { FaultContext } from './fault.ts'
import { TargetError } from './errors.ts'

const ctx = (seed = 1): FaultContext => ({
  env: new MemoryEnvironment(),
  runId: 't',
  rng: createRng(seed),
  log: { info() {}, warn() {} },
  signal: new AbortController().signal,
  evidence() {},
  checkpoint() {},
  dryRun: true,
})
const names = (nodes: { name: string }[]) => nodes.map((n) => n.name)

describe('target selection', () => {
  it('selects by name, by AZ, and every node by default', async () => {
    expect(names(await resolveNodes(ctx(), { cluster: 'core', nodes: ['n2', 'n5'] }))).toEqual(['n2', 'n5'])
    expect(names(await resolveNodes(ctx(), { cluster: 'core', az: 'az-b' }))).toEqual(['n3', 'n4'])
    expect(names(await resolveNodes(ctx(), { az: ['az-a', 'az-c'] }))).toEqual(['n1', 'n2', 'n5'])
    expect(names(await resolveNodes(ctx(), {}))).toHaveLength(5)
  })

  it('picks count or percent at random, reproducibly from the seed', async () => {
    const a = names(await resolveNodes(ctx(7), { count: 2 }))
    expect(a).toHaveLength(2)
    expect(names(await resolveNodes(ctx(7), { count: 2 }))).toEqual(a)
    const seen = new Set<string>()
    for (let s = 0; s < 20; s++) seen.add(names(await resolveNodes(ctx(s), { count: 1 }))[0])
    expect(seen.size).toBeGreaterThan(2) // not always the same node
    expect(names(await resolveNodes(ctx(), { az: 'az-b', percent: 50 }))).toHaveLength(1)
  })

  it('rounds percentages up and refuses a count above what there is', () => {
    expect(pickCount(5, { percent: 30 })).toBe(2)
    expect(pickCount(5, { percent: 1 })).toBe(1)
    expect(() => pickCount(3, { count: 9 }, 'nodes')).toThrow(/count: 9 asks for more than the 3 nodes/) // refused, never silently reduced
  })

  it('refuses unknown names with a typed error that says what exists', async () => {
    await expect(resolveNodes(ctx(), { cluster: 'edge' })).rejects.toThrow(/no cluster "edge".*has: core/)
    await expect(resolveNodes(ctx(), { az: 'az-z' })).rejects.toThrow(TargetError)
    await expect(resolveNodes(ctx(), { nodes: ['n9'] })).rejects.toThrow(/no node n9/)
    await expect(resolveTasks(ctx(), { service: 'billing' })).rejects.toThrow(/no service "billing"/)
  })

  it('picks tasks of a service by percent, seeded', async () => {
    const a = (await resolveTasks(ctx(3), { service: 'api', percent: 50 })).map((t) => t.id)
    expect(a).toHaveLength(2)
    expect((await resolveTasks(ctx(3), { service: 'api', percent: 50 })).map((t) => t.id)).toEqual(a)
  })
})
