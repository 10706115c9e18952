import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadExperiment } from './load.ts'
import { defaultRegistry } from '../builtins.ts'
import { formatIssue } from './yaml-source.ts'

function write(text: string, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-load-'))
  mkdirSync(join(dir, 'experiments'))
  mkdirSync(join(dir, 'steady-state'))
  for (const [name, content] of Object.entries(extra)) writeFileSync(join(dir, name), content)
  const file = join(dir, 'experiments', 'x.yaml')
  writeFileSync(file, text)
  return file
}

async function errors(text: string, extra: Record<string, string> = {}): Promise<string[]> {
  const file = write(text, extra)
  const r = await loadExperiment(file, defaultRegistry())
  if (r.ok) return []
  return r.issues.map((i) => formatIssue({ ...i, file: i.file.split('/').slice(-2).join('/') }))
}

const VALID = `name: ok
steadyState:
  probes:
    - name: health
      probe: nats-cluster-health
      tolerance: "healthy == true"
method:
  - fault: nats.kill-node
    target: { cluster: core, role: jetstream-meta-leader }
    duration: 5s
`

describe('loadExperiment', () => {
  it('accepts the shipped experiments', async () => {
    for (const f of ['nats-node-kill.yaml', 'nats-az-loss.yaml']) {
      const r = await loadExperiment(join(import.meta.dirname, '../../experiments', f), defaultRegistry())
      expect(r.ok, JSON.stringify(!r.ok && r.issues)).toBe(true)
    }
  })

  it('accepts a minimal experiment and fills defaults', async () => {
    const r = await loadExperiment(write(VALID), defaultRegistry())
    expect(r.ok).toBe(true)
    if (r.ok) {
      expect(r.loaded.steadyState.map((p) => p.name)).toEqual(['health'])
      expect(r.loaded.experiment.guardrails).toEqual([])
    }
  })

  it('reports a YAML syntax error once, at its line and column', async () => {
    expect(await errors('name: x\nmethod:\n  - wait: 1s\n    bad: [\n')).toEqual([expect.stringMatching(/^experiments\/x\.yaml:[45]:\d+: YAML syntax: /)])
  })

  it('reports every schema error with file:line:col', async () => {
    const out = await errors(`name: x
method:
  - fault: nats.kill-node
    target: { cluster: core, count: 0 }
    duration: soon
  - wait: 3 seconds
  - launch: rockets
`)
    expect(out).toContain('experiments/x.yaml:4:30: Too small: expected number to be >0')
    expect(out.some((l) => l.startsWith('experiments/x.yaml:5:5: ') && l.includes('a duration like'))).toBe(true)
    expect(out.some((l) => l.startsWith('experiments/x.yaml:6:5: '))).toBe(true)
    expect(out).toContain('experiments/x.yaml:7:5: not a known form: expected a step with one of fault:, wait:, probe:, parallel:, sequence:, repeat:')
  })

  it('names unknown fields where they are written', async () => {
    expect(await errors('name: x\ncolour: blue\nmethod:\n  - wait: 1s\n')).toEqual(['experiments/x.yaml:2:1: unknown field "colour"'])
  })

  it('names unknown probe and fault types where they are written', async () => {
    const out = await errors(`name: x
steadyState:
  probes:
    - name: p
      probe: no-such-probe
method:
  - fault: nats.explode
`)
    expect(out.find((l) => l.startsWith('experiments/x.yaml:5:7: unknown probe type "no-such-probe"'))).toBeDefined()
    expect(out.find((l) => l.startsWith('experiments/x.yaml:7:5: unknown fault type "nats.explode"'))).toBeDefined()
  })

  it('validates probe parameters against the probe type', async () => {
    const out = await errors(`name: x
load:
  - name: l
    probe: request-slo
    with:
      rate: -5
      via: carrier-pigeon
method:
  - wait: 1s
`)
    expect(out.some((l) => l.startsWith('experiments/x.yaml:6:7: '))).toBe(true)
    expect(out.some((l) => l.startsWith('experiments/x.yaml:7:7: '))).toBe(true)
  })

  it('checks the tolerance syntax', async () => {
    expect(await errors('name: x\nload:\n  - name: a\n    probe: request-slo\n    tolerance: "p99 is small"\nmethod:\n  - wait: 1s\n')).toEqual([
      'experiments/x.yaml:5:5: invalid tolerance "p99 is small": expected "<metric> <op> <value>", e.g. "p99 < 50ms"',
    ])
  })

  it('checks duplicate probe names, guardrails and includes', async () => {
    const out = await errors(`name: x
steadyState:
  include: [missing-hypothesis]
  probes:
    - name: a
      probe: nats-cluster-health
      tolerance: "healthy == true"
load:
  - name: a
    probe: nats-cluster-health
method:
  - wait: 1s
guardrails:
  - probe: ghost
    abortWhen: "successRate < 50%"
`)
    expect(out.some((l) => l.startsWith('experiments/x.yaml:3:13: steady-state hypothesis not found'))).toBe(true)
    expect(out.some((l) => l.startsWith('experiments/x.yaml:9:5: probe name "a" is already used'))).toBe(true)
    expect(out.some((l) => l.startsWith('experiments/x.yaml:14:5: guardrail refers to "ghost"'))).toBe(true)
  })

  it('reports errors inside an included steady-state file at their own position', async () => {
    const out = await errors(`name: x\nsteadyState:\n  include: [slo]\nmethod:\n  - wait: 1s\n`, {
      'steady-state/slo.yaml': 'name: slo\nprobes:\n  - name: s\n    probe: request-slo\n    with: { rate: fast }\n',
    })
    expect(out).toEqual([expect.stringMatching(/^steady-state\/slo\.yaml:5:13: /)])
  })
})
