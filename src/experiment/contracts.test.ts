/**
 * Hostile input at validate: what a run would trip on, after the faults had done their damage,
 * is a positioned error before anything runs. Each case is one an adversarial new user wrote.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadExperiment } from './load.ts'
import { defaultRegistry } from '../builtins.ts'
import { formatIssue } from './yaml-source.ts'

const FIXTURES = join(import.meta.dirname, '../../test/fixtures/hostile')

function write(text: string, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-contracts-'))
  mkdirSync(join(dir, 'experiments'))
  mkdirSync(join(dir, 'steady-state'))
  for (const [name, content] of Object.entries(extra)) writeFileSync(join(dir, name), content)
  const file = join(dir, 'experiments', 'x.yaml')
  writeFileSync(file, text)
  return file
}

async function errors(text: string, extra: Record<string, string> = {}, opts = {}): Promise<string[]> {
  const r = await loadExperiment(write(text, extra), defaultRegistry(), opts)
  if (r.ok) return []
  return r.issues.map((i) => formatIssue({ ...i, file: i.file.split('/').slice(-2).join('/') }))
}

const load = (tolerance: string) => `name: x
load:
  - name: l
    probe: request-slo
    tolerance: ["successRate >= 99%", ${JSON.stringify(tolerance)}]
method:
  - wait: 1s
`

describe('tolerances are checked against the metrics and units the probe declares', () => {
  it.each([
    ['successRate >>= 5', /one comparison/],
    ['lost == zz zz', /invalid value "zz zz" in tolerance "lost == zz zz": a number, 99\.9%, 50ms, true\/false or one word/],
    ['nosuchmetric > 3', /probe request-slo reports no metric "nosuchmetric" \(it reports: .*successRate/],
    ['p99 < 50%', /p99 is a duration in ms, not a percentage; write a duration, e\.g\. p99 < 50ms/],
    ['successRate >= 99.9ms', /successRate is a ratio, not a duration; write a percentage/],
    ['successRate >= 99.9', /a fraction 0\.\.1, so 99\.9 is never met/],
    ['p99 > fast', /p99 is a duration in ms, not a word/],
  ])('%s', async (tolerance, message) => {
    const out = await errors(load(tolerance))
    expect(out).toHaveLength(1)
    expect(out[0]).toMatch(/^experiments\/x\.yaml:5:\d+: /)
    expect(out[0]).toMatch(message)
  })

  it('accepts what can be judged: ratios as % or fractions, durations, counts, words and booleans with ==', async () => {
    expect(await errors(load('successRate >= 0.999'))).toEqual([])
    expect(await errors(load('p99 < 2s'))).toEqual([])
    expect(
      await errors(`name: x
steadyState:
  probes:
    - { name: h, probe: nats-cluster-health, tolerance: ["healthy == true", "metaLeader != none", "recoveryMs < 30s"] }
    - { name: d, probe: drain, tolerance: ["lost == 0", "lost.reset == 0"] }
method:
  - wait: 1s
`),
    ).toEqual([])
  })

  it('refuses an ordering on a boolean or a word', async () => {
    const out = await errors(`name: x
steadyState:
  probes:
    - { name: h, probe: nats-cluster-health, tolerance: "healthy > true" }
method:
  - wait: 1s
`)
    expect(out).toEqual([expect.stringMatching(/^experiments\/x\.yaml:4:\d+: "healthy > true": healthy is true\/false, so > cannot compare it/)])
  })

  it('checks during: tolerances and guardrails against the probe they watch', async () => {
    const out = await errors(`name: x
load:
  - { name: l, probe: request-slo, during: "p99 < 5%" }
method:
  - wait: 1s
guardrails:
  - { probe: l, abortWhen: "successRate <<< 5%" }
  - { probe: l, abortWhen: "nosuch < 5%" }
`)
    expect(out).toEqual([
      expect.stringMatching(/^experiments\/x\.yaml:3:\d+: "p99 < 5%": p99 is a duration/),
      expect.stringMatching(/^experiments\/x\.yaml:7:\d+: .*one comparison/),
      expect.stringMatching(/^experiments\/x\.yaml:8:\d+: probe request-slo reports no metric "nosuch"/),
    ])
  })
})

describe('fault selectors are checked against what the fault acts on', () => {
  it('a node fault with a service target is an error, never "every node"', async () => {
    const out = await errors('name: x\nmethod:\n  - fault: nats.kill-node\n    target: { service: gateway }\n')
    expect(out).toEqual([expect.stringMatching(/^experiments\/x\.yaml:4:15: nats\.kill-node acts on NATS nodes; this target names service: "gateway"/)])
  })

  it('a task fault must name its service; a cache fault cannot name nodes', async () => {
    expect(await errors('name: x\nmethod:\n  - fault: service.stop-task\n    target: { cluster: core }\n')).toEqual([
      expect.stringMatching(/4:15: service\.stop-task acts on a service's tasks; this target names cluster: "core"/),
    ])
    expect(await errors('name: x\nmethod:\n  - fault: service.stop-task\n')).toEqual([expect.stringMatching(/name the service/)])
    expect(await errors('name: x\nmethod:\n  - fault: redis.kill\n    target: { nodes: [n1] }\n')).toEqual([
      expect.stringMatching(/redis\.kill acts on a cache; this target names nodes/),
    ])
  })

  it('half or more of a whole cluster needs allowMajority: true', async () => {
    expect(await errors('name: x\nmethod:\n  - fault: nats.kill-node\n    target: { cluster: core, percent: 60 }\n')).toEqual([
      expect.stringMatching(/4:30: percent: 60 of a whole cluster is never a minority.*allowMajority: true/),
    ])
    expect(await errors('name: x\nmethod:\n  - fault: nats.kill-node\n    target: { cluster: core, percent: 60, allowMajority: true }\n')).toEqual([])
    expect(await errors('name: x\nmethod:\n  - fault: nats.kill-node\n    target: { cluster: core, az: az-b, percent: 50 }\n')).toEqual([])
  })

  it('an empty node list, an absurd count and an unknown field are schema errors where they are written', async () => {
    const out = await errors('name: x\nmethod:\n  - fault: nats.kill-node\n    target: { nodes: [], count: 99999, allowMajority: yes }\n')
    expect(out).toHaveLength(3)
    expect(out[0]).toMatch(/^experiments\/x\.yaml:4:15: .*>=1 items/)
    expect(out[1]).toMatch(/^experiments\/x\.yaml:4:26: .*<=1000/)
    expect(out[2]).toMatch(/^experiments\/x\.yaml:4:40: .*expected true/)
  })
})

describe('bounds', () => {
  it('durations beyond 24h are errors, not a timer that fires at once', async () => {
    const out = await errors('name: x\nmethod:\n  - wait: 700h\nguardrails:\n  - maxDuration: 1000h\n')
    expect(out).toEqual([
      expect.stringMatching(/^experiments\/x\.yaml:3:5: duration 700h is longer than the 24h/),
      expect.stringMatching(/^experiments\/x\.yaml:5:5: duration 1000h/),
    ])
  })

  it('steps nested beyond the bound are one positioned error, not a stack overflow', async () => {
    let method = '  - wait: 1s\n'
    for (let i = 0; i < 40; i++) method = `  - sequence:\n${method.replace(/^/gm, '    ')}`
    const out = await errors(`name: x\nmethod:\n${method}`)
    expect(out).toHaveLength(1)
    expect(out[0]).toMatch(/steps nest deeper than 16 levels|nested deeper than 64 levels/)
  })

  it('YAML nested thousands deep is refused before the parser runs out of stack or memory', async () => {
    const flow = await errors(`name: x\nmethod: ${'['.repeat(5000)}${']'.repeat(5000)}\n`)
    expect(flow).toEqual([expect.stringMatching(/^experiments\/x\.yaml:2:\d+: brackets nested more than 256 deep/)])
    let block = 'name: x\nmethod:\n'
    for (let i = 1; i < 4000; i++) block += `${' '.repeat(i)}- \n`
    expect(await errors(block)).toEqual([expect.stringMatching(/^experiments\/x\.yaml:\d+:\d+: indented more than 256 columns/)])
  })

  it('a repeat of a million rounds is refused', async () => {
    const out = await errors('name: x\nmethod:\n  - repeat: { times: 1000000, steps: [ { wait: 1s } ] }\n')
    expect(out).toEqual([expect.stringMatching(/^experiments\/x\.yaml:3:\d+: .*<=10000/)])
  })

  it('a seed in the file is a whole number a run can replay', async () => {
    expect(await errors('name: x\nseed: banana\nmethod:\n  - wait: 1s\n')).toEqual([expect.stringMatching(/^experiments\/x\.yaml:2:1: .*expected number/)])
    expect(await errors('name: x\nseed: -1\nmethod:\n  - wait: 1s\n')).toEqual([expect.stringMatching(/^experiments\/x\.yaml:2:1: .*>=0/)])
    const huge = await errors('name: x\nseed: 1e20\nmethod:\n  - wait: 1s\n')
    expect(huge.length).toBeGreaterThan(0)
    expect(huge.every((l) => l.startsWith('experiments/x.yaml:2:1: '))).toBe(true)
  })
})

describe('the file as a whole', () => {
  it('one schema error does not hide the other problems', async () => {
    const out = await errors(`name: x
colour: blue
load:
  - { name: l, probe: request-slo, tolerance: "p99 < 50%" }
method:
  - wait: soon
  - fault: nats.explode
  - fault: nats.kill-node
    target: { service: gateway }
`)
    expect(out).toEqual([
      'experiments/x.yaml:2:1: unknown field "colour"',
      expect.stringMatching(/^experiments\/x\.yaml:4:\d+: "p99 < 50%"/),
      expect.stringMatching(/^experiments\/x\.yaml:6:5: .*a duration like/),
      expect.stringMatching(/^experiments\/x\.yaml:7:5: unknown fault type "nats\.explode"/),
      expect.stringMatching(/^experiments\/x\.yaml:9:15: nats\.kill-node acts on NATS nodes/),
    ])
  })

  it('accepts YAML merge keys', async () => {
    expect(
      await errors(`name: x
method:
  - &kill
    fault: nats.kill-node
    target: { cluster: core, nodes: [n1] }
    duration: 1s
  - <<: *kill
    target: { cluster: core, nodes: [n2] }
`),
    ).toEqual([])
  })

  it('an alias that resolves to nothing, or aliases that would expand without bound, are positioned errors', async () => {
    // found by the fuzz test: toJS threw a ReferenceError with a stack
    expect(await errors('name: x\nmethod:\n  - { wait: 1s, name: *nowhere }\n')).toEqual([expect.stringMatching(/^experiments\/x\.yaml:3:\d+: /)])
    let laughs = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n'
    for (let i = 1; i < 12; i++)
      laughs += `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]\n`
    const out = await errors(`name: x\ndescription: { ${laughs.trim().split('\n').join(', ')} }\nmethod:\n  - wait: 1s\n`)
    expect(out).toEqual([expect.stringMatching(/^experiments\/x\.yaml:2:\d+: YAML aliases: .*at most 100 alias expansions/)])
  })

  it('a step with two kinds, a step that is not a mapping, a missing method', async () => {
    expect(await errors('name: x\nmethod:\n  - { wait: 1s, fault: nats.kill-node }\n')).toEqual([
      expect.stringMatching(/3:\d+: a step is of one kind: this one has both fault: and wait:/),
    ])
    expect(await errors('name: x\nmethod:\n  - just a string\n')).toEqual([expect.stringMatching(/3:5: expected a step .* got the text "just a string"/)])
    expect(await errors('name: x\n')).toEqual([expect.stringMatching(/1:1: missing method:/)])
    expect(await errors('- a list\n')).toEqual([expect.stringMatching(/1:1: an experiment is a mapping/)])
  })
})

describe('a large file (read by the fast reader first) gets the same answers', () => {
  const padding = `description: |\n${'  a long description line to make the file large\n'.repeat(2000)}`

  it('accepts merge keys, and positions a problem', async () => {
    const ok = `name: x\n${padding}method:\n  - &kill\n    fault: nats.kill-node\n    target: { cluster: core, nodes: [n1] }\n  - { <<: *kill, target: { cluster: core, nodes: [n2] } }\n`
    expect(ok.length).toBeGreaterThan(64 * 1024)
    expect(await errors(ok)).toEqual([])
    const bad = `name: x\n${padding}method:\n  - wait: soon\n`
    expect(await errors(bad)).toEqual([expect.stringMatching(/^experiments\/x\.yaml:2004:5: .*a duration like/)])
  })

  it('refuses a duplicate key and nesting beyond the bound, where they are', async () => {
    expect(await errors(`name: x\n${padding}method:\n  - wait: 1s\nname: y\n`)).toEqual([
      expect.stringMatching(/^experiments\/x\.yaml:2005:1: YAML syntax: .*[Mm]ap keys must be unique/),
    ])
    const deep = `name: x\n${padding}method:\n  - wait: 1s\ntags: ${'['.repeat(70)}${']'.repeat(70)}\n`
    expect(await errors(deep)).toEqual([expect.stringMatching(/^experiments\/x\.yaml:2005:\d+: nested deeper than 64 levels/)])
  })
})

describe('includes are read within bounds', () => {
  it('refuses a directory, a device and a path outside the experiment folder tree, naming the experiment', async () => {
    const dir = await errors('name: x\nsteadyState:\n  include: [../steady-state]\nmethod:\n  - wait: 1s\n')
    expect(dir).toEqual([expect.stringMatching(/^experiments\/x\.yaml:3:13: cannot include .*steady-state: is a directory/)])
    const outside = await errors('name: x\nsteadyState:\n  include: [/dev/zero]\nmethod:\n  - wait: 1s\n')
    expect(outside).toEqual([
      expect.stringMatching(/^experiments\/x\.yaml:3:13: include "\/dev\/zero" resolves to \/dev\/zero, outside this experiment's folder tree/),
    ])
  })

  it('refuses a FIFO without blocking, and a file over the size bound', async () => {
    const file = write('name: x\nsteadyState:\n  include: [big.yaml]\nmethod:\n  - wait: 1s\n')
    const big = join(file, '..', 'big.yaml')
    writeFileSync(big, 'name: big\n' + '#'.repeat(17 * 1024 * 1024))
    const r = await loadExperiment(file, defaultRegistry())
    expect(!r.ok && r.issues.map((i) => i.message)).toEqual([expect.stringMatching(/cannot include .*big\.yaml: is 17\.0 MB, more than the 16 MB/)])
  })

  it('says which experiment included a hypothesis whose content is wrong', async () => {
    const out = await errors('name: x\nsteadyState:\n  include: [slo]\nmethod:\n  - wait: 1s\n', {
      'steady-state/slo.yaml': 'name: slo\nprobes:\n  - { name: s, probe: request-slo, tolerance: "p99 < 5%" }\n',
    })
    expect(out).toEqual([expect.stringMatching(/^steady-state\/slo\.yaml:3:\d+: "p99 < 5%".*\(included from .*experiments\/x\.yaml:3:13\)$/)])
  })
})

describe('extensions are checked at the door', () => {
  const ext = (module: string) => `name: x\nextensions: [${join(FIXTURES, module)}]\nmethod:\n  - wait: 1s\n`

  it('an import that never settles times out with a positioned error', async () => {
    const out = await errors(ext('never-settles.ts'), {}, { extensionTimeoutMs: 300 })
    expect(out).toEqual([expect.stringMatching(/^experiments\/x\.yaml:2:\d+: extension .*never-settles\.ts did not finish loading within 300ms/)])
  })

  it('a probe without params or metrics, a fault without targets: a positioned error naming the module', async () => {
    expect(await errors(ext('probe-without-params.ts'))).toEqual([
      expect.stringMatching(/^experiments\/x\.yaml:2:\d+: .*probe-without-params\.ts: probe #1 \("half-done"\) has no `params`.*has no `metrics`/),
    ])
    expect(await errors(ext('fault-without-targets.ts'))).toEqual([
      expect.stringMatching(/^experiments\/x\.yaml:2:\d+: .*fault-without-targets\.ts: fault #1 \("custom\.untargeted"\) has no `targets`/),
    ])
  })
})
