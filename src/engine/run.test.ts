/**
 * The engine's guarantees, on an in-memory environment with test faults and probes written
 * against the public API: every injected fault is reverted whatever happens, in order, and the
 * journal and result say what happened.
 */
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { runExperiment } from './run.ts'
import { loadExperiment } from '../experiment/load.ts'
import { defaultRegistry } from '../builtins.ts'
import { defineFault } from '../api/fault.ts'
import { defineProbe } from '../api/probe.ts'
import { resolveNodes, nodeTargets } from '../api/select-targets.ts'
import { readJournal } from '../journal/journal.ts'
import { MemoryEnvironment } from '../../test/support/memory-environment.ts'
import { sleep } from '../util/abort.ts'

let env: MemoryEnvironment
const quiet = { info: () => {}, warn: () => {} }

const testFault = defineFault({
  type: 'test.break',
  description: 'records inject/revert; can be told to fail',
  targets: ['node'],
  params: z.strictObject({ failInject: z.boolean().default(false), failRevert: z.boolean().default(false), injectDelayMs: z.number().default(0) }),
  resolve: async (ctx, spec) => nodeTargets(await resolveNodes(ctx, spec.target), spec.target),
  describe: (_c, _s, t) => t.map((x) => `break ${x.id}`),
  stateFromTargets: (targets) => ({ nodes: targets.map((t) => t.id) }),
  inject: async (ctx, spec, targets) => {
    if (spec.params.injectDelayMs) await sleep(spec.params.injectDelayMs, ctx.signal)
    if (spec.params.failInject) throw new Error('inject exploded')
    for (const t of targets) env.events.push(`inject ${t.id}`)
    return { nodes: targets.map((t) => t.id) }
  },
  revert: async (_ctx, spec, state) => {
    if (spec.params.failRevert) throw new Error('revert exploded')
    for (const n of (state as { nodes: string[] }).nodes) env.events.push(`revert ${n}`)
  },
})

const testProbe = defineProbe({
  type: 'test.value',
  description: 'reports a fixed value, or a value that drops through the method',
  params: z.strictObject({
    value: z.number().default(1),
    during: z.number().optional(),
    noEvidence: z.boolean().default(false),
    untrusted: z.boolean().default(false),
  }),
  metrics: { value: { unit: 'number', description: 'the value' } },
  create: (_ctx, p) => {
    let running = false
    return {
      run: async () => ({
        metrics: { value: p.value },
        ...(p.noEvidence ? { inconclusive: ['nothing was in flight'] } : {}),
        ...(p.untrusted ? { untrusted: [{ metrics: ['value'], reason: 'the runner was overloaded' }] } : {}),
      }),
      start: async () => void (running = true),
      snapshot: () => ({ value: running && p.during !== undefined ? p.during : p.value }),
      stop: async () => ({ metrics: { value: p.during ?? p.value } }),
    }
  },
})

function registry() {
  return defaultRegistry().register({ faults: [testFault], probes: [testProbe] })
}

async function load(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-engine-'))
  const file = join(dir, 'x.yaml')
  writeFileSync(file, yaml)
  const r = await loadExperiment(file, registry())
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.line}:${i.col} ${i.message}`).join('\n'))
  return { loaded: r.loaded, reportsDir: join(dir, 'reports') }
}

async function run(yaml: string, extra: { signal?: AbortSignal; seed?: number } = {}) {
  const { loaded, reportsDir } = await load(yaml)
  const outcome = await runExperiment({ loaded, env, environmentName: 'memory', reportsDir, log: quiet, live: false, ...extra })
  const journal = readJournal(join(outcome.runDir, 'journal.jsonl'))
  return { outcome, journal, types: journal.map((e) => e.type) }
}

const steady = `steadyState:
  probes:
    - { name: v, probe: test.value, tolerance: "value == 1" }
`

beforeEach(() => {
  env = new MemoryEnvironment()
})

describe('runExperiment', () => {
  it('passes: steady state, fault for its duration, revert, steady state; reports derived from the journal', async () => {
    const { outcome, types } = await run(`name: ok\nseed: 1\n${steady}method:\n  - fault: test.break\n    target: { nodes: [n2] }\n    duration: 50ms\n`)
    expect(outcome.status).toBe('passed')
    expect(outcome.exitCode).toBe(0)
    expect(env.events).toEqual(['inject n2', 'revert n2'])
    expect(types.indexOf('fault.injecting')).toBeLessThan(types.indexOf('fault.injected'))
    expect(types.filter((t) => t === 'probe.verdict')).toHaveLength(2)
    const result = JSON.parse(readFileSync(join(outcome.runDir, 'result.json'), 'utf8'))
    expect(result).toMatchObject({ experiment: 'ok', environment: 'memory', seed: 1, status: 'passed' })
    expect(result.faults).toEqual([
      expect.objectContaining({
        type: 'test.break',
        targets: [expect.objectContaining({ id: 'n2', az: 'az-a' })],
        state: 'reverted',
        injectedAt: expect.any(String),
        revertedAt: expect.any(String),
      }),
    ])
    expect(result.probes.map((p: { phase: string; verdict: string }) => `${p.phase}:${p.verdict}`)).toEqual(['before:pass', 'after:pass'])
    expect(readFileSync(join(outcome.runDir, 'junit.xml'), 'utf8')).toContain('<testcase')
    expect(readFileSync(join(outcome.runDir, 'summary.md'), 'utf8')).toContain('# ✅ ok — passed')
  })

  it('says inconclusive — exit 3, junit skipped, never passed — when tolerances held on no evidence; a failed tolerance still fails', async () => {
    const noEvidence = `steadyState:\n  probes:\n    - { name: v, probe: test.value, with: { noEvidence: true }, tolerance: "value == 1" }\n`
    const { outcome } = await run(`name: vacuous\n${noEvidence}method:\n  - wait: 1ms\n`)
    expect(outcome.status).toBe('inconclusive')
    expect(outcome.exitCode).toBe(3)
    expect(outcome.result.probes.map((p) => [p.verdict, p.inconclusive])).toEqual([
      ['inconclusive', ['nothing was in flight']],
      ['inconclusive', ['nothing was in flight']],
    ])
    expect(outcome.result.reason).toMatch(/no evidence for v: nothing was in flight/)
    expect(readFileSync(join(outcome.runDir, 'junit.xml'), 'utf8')).toContain('<skipped message="inconclusive: nothing was in flight"/>')
    expect(readFileSync(join(outcome.runDir, 'summary.md'), 'utf8')).toContain('❔ inconclusive')

    const failing = `steadyState:\n  probes:\n    - { name: v, probe: test.value, with: { noEvidence: true, value: 2 }, tolerance: "value == 1" }\n`
    const second = await run(`name: vacuous-but-failing\n${failing}method:\n  - wait: 1ms\n`)
    expect(second.outcome.result.probes[0].verdict).toBe('fail')
  })

  it('a tolerance that fails on a figure the probe cannot vouch for is inconclusive, not a deviation', async () => {
    const untrusted = `steadyState:\n  probes:\n    - { name: v, probe: test.value, with: { untrusted: true, value: 2 }, tolerance: "value == 1" }\n`
    const { outcome } = await run(`name: untrusted\n${untrusted}method:\n  - wait: 1ms\n`)
    expect(outcome.result.probes[0].verdict).toBe('inconclusive')
    expect(outcome.result.probes[0].inconclusive).toEqual(['value == 1 failed on a figure that cannot be trusted: the runner was overloaded'])
    expect(outcome.status).toBe('inconclusive') // no deviation: the figure that failed is not evidence
    const trusted = `steadyState:\n  probes:\n    - { name: v, probe: test.value, with: { value: 2 }, tolerance: "value == 1" }\n`
    expect((await run(`name: trusted\n${trusted}method:\n  - wait: 1ms\n`)).outcome.result.probes[0].verdict).toBe('fail')
  })

  it('brings the environment up when it is not, and down after unless asked to keep it', async () => {
    await run(`name: env\nmethod:\n  - wait: 1ms\n`)
    expect([env.upCalls, env.downCalls]).toEqual([1, 1])
    await env.up()
    await run(`name: env\nmethod:\n  - wait: 1ms\n`)
    expect([env.upCalls, env.downCalls]).toEqual([2, 1]) // already up: left up
  })

  it('reverts a fault with no duration when the method ends', async () => {
    const { outcome } = await run(`name: hold\nmethod:\n  - fault: test.break\n    target: { nodes: [n1] }\n  - wait: 10ms\n`)
    expect(outcome.status).toBe('passed')
    expect(env.events).toEqual(['inject n1', 'revert n1'])
  })

  it('reverts what was injected when a later action throws, and says errored', async () => {
    const { outcome } = await run(
      `name: throws\nmethod:\n  - fault: test.break\n    target: { nodes: [n1] }\n  - fault: test.break\n    target: { nodes: [n3] }\n    with: { failInject: true }\n  - fault: test.break\n    target: { nodes: [n5] }\n`,
    )
    expect(outcome.status).toBe('errored')
    expect(outcome.exitCode).toBe(2)
    expect(outcome.result.reason).toMatch(/inject exploded/)
    // n3's inject failed half-way: its revert is still attempted; n5 was never injected
    expect(env.events).toEqual(['inject n1', 'revert n3', 'revert n1'])
    expect(outcome.result.faults.map((f) => f.state)).toEqual(['reverted', 'reverted'])
  })

  it('reverts and stops at once when aborted mid-fault (Ctrl-C), skipping the steady state after', async () => {
    const controller = new AbortController()
    setTimeout(() => controller.abort(new Error('signal SIGINT')), 300)
    const { outcome, journal } = await run(
      `name: abort\n${steady}method:\n  - fault: test.break\n    target: { nodes: [n4] }\n    duration: 30s\n  - fault: test.break\n    target: { nodes: [n5] }\n`,
      { signal: controller.signal },
    )
    expect(outcome.status).toBe('aborted')
    expect(outcome.exitCode).toBe(2)
    expect(outcome.result.reason).toBe('signal SIGINT')
    expect(env.events).toEqual(['inject n4', 'revert n4'])
    expect(journal.some((e) => e.type === 'phase.started' && e.phase === 'steady-state-after')).toBe(false)
    expect(outcome.result.probes.map((p) => p.phase)).toEqual(['before'])
    expect(outcome.result.durationMs).toBeLessThan(5000)
  })

  it('aborts on a guardrail, reverting first', async () => {
    const { outcome } = await run(`name: guard
load:
  - { name: live, probe: test.value, with: { value: 1, during: 0.2 } }
method:
  - fault: test.break
    target: { nodes: [n1] }
    duration: 30s
guardrails:
  - { probe: live, abortWhen: "value < 0.5" }
`)
    expect(outcome.status).toBe('aborted')
    expect(outcome.result.guardrails).toEqual([expect.objectContaining({ guardrail: 'probe live' })])
    expect(env.events).toEqual(['inject n1', 'revert n1'])
  })

  it('injects nothing when the steady state does not hold before', async () => {
    const { outcome } = await run(
      `name: unsteady\nsteadyState:\n  probes:\n    - { name: v, probe: test.value, with: { value: 0 }, tolerance: "value == 1" }\nmethod:\n  - fault: test.break\n    target: { nodes: [n1] }\n`,
    )
    expect(outcome.status).toBe('aborted')
    expect(outcome.result.reason).toMatch(/did not hold before/)
    expect(env.events).toEqual([])
  })

  it('deviates when a tolerance through the method fails', async () => {
    const { outcome } = await run(
      `name: dip\nload:\n  - { name: live, probe: test.value, with: { during: 0.5 }, tolerance: "value >= 0.9" }\nmethod:\n  - wait: 20ms\n`,
    )
    expect(outcome.status).toBe('deviated')
    expect(outcome.exitCode).toBe(1)
  })

  it('says errored, journals the failure and keeps the environment when a revert keeps failing', async () => {
    const { outcome, types } = await run(`name: stuck\nmethod:\n  - fault: test.break\n    target: { nodes: [n1] }\n    with: { failRevert: true }\n`)
    expect(outcome.status).toBe('errored')
    expect(outcome.result.reason).toMatch(/gameday recover/)
    expect(types.filter((t) => t === 'fault.revert-failed')).toHaveLength(1)
    expect(outcome.result.faults[0].state).toBe('revert-failed')
    expect(env.downCalls).toBe(0)
  })

  it('stops the sibling branches of a failed parallel step and reverts them all', async () => {
    const { outcome } = await run(`name: par
method:
  - parallel:
      - fault: test.break
        target: { nodes: [n1] }
        duration: 30s
      - sequence:
          - wait: 50ms
          - fault: test.break
            target: { nodes: [n2] }
            with: { failInject: true }
`)
    expect(outcome.status).toBe('errored')
    expect(outcome.result.durationMs).toBeLessThan(5000)
    expect(env.events.sort()).toEqual(['inject n1', 'revert n1', 'revert n2'])
  })

  it('replays the same random picks with the same seed', async () => {
    const yaml = `name: pick\nmethod:\n  - fault: test.break\n    target: { cluster: core, count: 2 }\n  - fault: test.break\n    target: { cluster: core, percent: 40 }\n`
    const picks = async (seed: number) => {
      env = new MemoryEnvironment()
      const { outcome } = await run(yaml, { seed })
      expect(outcome.result.seed).toBe(seed)
      return outcome.result.faults.map((f) => f.targets.map((t) => t.id).join(','))
    }
    const a = await picks(42)
    expect(await picks(42)).toEqual(a)
    const others = await Promise.all([1, 2, 3, 4, 5].map((s) => picks(s)))
    expect(others.some((o) => o.join() !== a.join())).toBe(true)
    expect(a.every((p) => p.split(',').length === 2)).toBe(true)
  })

  it('leaves a journal a crash can be recovered from: targets are written before inject runs', async () => {
    const { loaded, reportsDir } = await load(`name: crash\nmethod:\n  - fault: test.break\n    target: { nodes: [n3] }\n    with: { injectDelayMs: 10000 }\n`)
    const controller = new AbortController()
    const running = runExperiment({ loaded, env, environmentName: 'memory', reportsDir, log: quiet, live: false, signal: controller.signal, runId: 'crash-1' })
    const journalFile = join(reportsDir, 'crash-1', 'journal.jsonl')
    for (let i = 0; i < 100 && !(existsSync(journalFile) && readFileSync(journalFile, 'utf8').includes('fault.injecting')); i++) await sleep(20)
    // at this moment a crash would leave: fault.injecting with its targets, and no injected/reverted
    const snapshot = readJournal(journalFile)
    expect(snapshot.find((e) => e.type === 'fault.injecting')).toMatchObject({ targets: [expect.objectContaining({ id: 'n3' })] })
    controller.abort(new Error('signal SIGTERM'))
    const outcome = await running
    expect(outcome.status).toBe('aborted')
    expect(env.events).toEqual(['revert n3'])
  })
})
