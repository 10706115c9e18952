/**
 * Plan refuses what a run would refuse: a selector that can never resolve, more than there is,
 * more than a minority of a cluster, an action the environment cannot do, an environment that
 * cannot be asked — each one listed in `refusals` (the CLI exits 2), none silently shrunk.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { planExperiment } from './plan.ts'
import { runExperiment } from './run.ts'
import { loadExperiment } from '../experiment/load.ts'
import { defaultRegistry } from '../builtins.ts'
import { defineFault } from '../api/fault.ts'
import { UnsupportedError } from '../api/errors.ts'
import { MemoryEnvironment } from '../../test/support/memory-environment.ts'

const cannotPause = defineFault({
  type: 'test.pause',
  description: 'an action this environment cannot do',
  targets: ['node'],
  params: z.strictObject({}),
  resolve: async (_ctx, spec) => [{ kind: 'node', id: spec.target.nodes?.[0] ?? 'n1', cluster: 'core' }],
  describe: () => {
    throw new UnsupportedError('the memory environment cannot pause a node')
  },
  inject: async () => null,
  revert: async () => {},
})

async function plan(method: string, env = new MemoryEnvironment()) {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-plan-'))
  const file = join(dir, 'x.yaml')
  writeFileSync(file, `name: x\nmethod:\n${method}`)
  const r = await loadExperiment(file, defaultRegistry().register({ faults: [cannotPause] }))
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.line}:${i.col} ${i.message}`).join('\n'))
  const { lines, refusals } = await planExperiment(r.loaded, env, 1)
  return { text: lines.map((l) => `${'  '.repeat(l.depth)}${l.text}`).join('\n'), refusals, loaded: r.loaded }
}

describe('plan refuses what a run would refuse', () => {
  it.each([
    ['an unknown cluster', '{ cluster: edge }', /no cluster "edge" in memory \(has: core\)/],
    ['an unknown AZ', '{ cluster: core, az: az-z }', /no AZ az-z in memory \(has: az-a, az-b, az-c\)/],
    ['an unknown node', '{ cluster: core, nodes: [n9] }', /no node n9 in cluster core/],
    [
      'a count above the cluster',
      '{ cluster: core, count: 99 }',
      /count: 99 asks for more than the 5 node\(s\) the selector matches in cluster core: ask for at most 5/,
    ],
    ['an AZ with no node of the selection', '{ cluster: core, nodes: [n1], az: az-c }', /matches no node of cluster core/],
  ])('%s', async (_what, target, message) => {
    const { refusals, text } = await plan(`  - fault: nats.kill-node\n    target: ${target}\n`)
    expect(refusals).toEqual([expect.stringMatching(message)])
    expect(refusals[0]).toMatch(/^method\[0\]: /)
    expect(text).toMatch(/REFUSED: /)
    expect(text).not.toMatch(/would: kill/)
  })

  it.each([
    ['an unknown service', 'service.stop-task', '{ service: gateway }', /no service "gateway" in memory \(has: api\)/],
    ['more tasks than the service runs', 'service.stop-task', '{ service: api, count: 9 }', /count: 9 asks for more than the 4 task\(s\) service api runs/],
    ['an unknown cache', 'redis.kill', '{ cache: sessions }', /no cache "sessions" in memory \(has: cache\)/],
  ])('%s', async (_what, fault, target, message) => {
    const { refusals } = await plan(`  - fault: ${fault}\n    target: ${target}\n`)
    expect(refusals).toEqual([expect.stringMatching(message)])
  })

  it('more than a minority of a cluster at once, unless the selector allows it', async () => {
    const whole = await plan('  - fault: nats.kill-node\n    target: { cluster: core }\n')
    expect(whole.refusals).toEqual([
      expect.stringMatching(/nats\.kill-node would hit 5 of the 5 nodes of cluster core at once: more than a minority \(at most 2\).*allowMajority: true/),
    ])
    const three = await plan('  - fault: nats.kill-node\n    target: { cluster: core, nodes: [n1, n2, n3] }\n')
    expect(three.refusals).toHaveLength(1)
    expect((await plan('  - fault: nats.kill-node\n    target: { cluster: core, nodes: [n1, n2] }\n')).refusals).toEqual([])
    expect((await plan('  - fault: nats.kill-node\n    target: { cluster: core, allowMajority: true }\n')).refusals).toEqual([])
    // one node at a time (waves) is never more than a minority at once
    expect((await plan('  - fault: nats.lame-duck\n    target: { cluster: core }\n')).refusals).toEqual([])
  })

  it('an action the environment cannot do', async () => {
    const { refusals } = await plan('  - fault: test.pause\n    target: { cluster: core, nodes: [n2] }\n')
    expect(refusals).toEqual(['method[0]: the memory environment cannot pause a node'])
  })

  it('finds refusals inside composite steps, with their paths', async () => {
    const { refusals } = await plan(
      '  - parallel:\n      - wait: 1s\n      - repeat:\n          times: 2\n          steps:\n            - fault: nats.kill-node\n              target: { cluster: core, count: 9 }\n',
    )
    expect(refusals).toEqual([expect.stringMatching(/^method\[0\]\.parallel\[1\]\.repeat\[0\]: count: 9/)])
  })

  it('shows an environment that cannot be asked plainly, and refuses', async () => {
    const env = new MemoryEnvironment()
    env.isUp = async () => {
      throw new Error('connect EACCES /var/run/docker.sock')
    }
    const { refusals, text } = await plan('  - wait: 1s\n', env)
    expect(text).toContain('environment local (memory) — cannot tell whether it is up: connect EACCES /var/run/docker.sock')
    expect(text).not.toContain('run` starts it')
    expect(refusals).toEqual([expect.stringMatching(/^environment: cannot tell whether the local environment \(memory\) is up: connect EACCES/)])
  })

  it('and a run refuses the same at injection, reverting nothing it did not do', async () => {
    const env = new MemoryEnvironment()
    const { loaded } = await plan('  - fault: nats.kill-node\n    target: { cluster: core }\n', env)
    const outcome = await runExperiment({
      loaded,
      env,
      environmentName: 'memory',
      reportsDir: mkdtempSync(join(tmpdir(), 'gameday-plan-run-')),
      log: { info() {}, warn() {} },
      live: false,
    })
    expect(outcome.status).toBe('errored')
    expect(outcome.result.reason).toMatch(/more than a minority/)
    expect(env.events).toEqual([])
  })
})
