/**
 * Fuzzing the inputs over the schema's own shape: experiments built from the schema's fields
 * (steps of every kind, nested; selectors, tolerances, durations, guardrails, includes), each
 * field sometimes valid, sometimes hostile (unknown names, wrong units, 700h, -1, junk, null),
 * sometimes with the YAML text itself cut or garbled; and environment files the same way,
 * loaded through the environments' own loader as it is. For every input: no crash, no hang,
 * no stack trace — a positioned error (file:line:col), or a valid experiment whose plan completes.
 *
 * Fixed seed (printed), so a failure replays: GAMEDAY_FUZZ_SEED=N GAMEDAY_FUZZ_RUNS=N override.
 * Run by inputs.test.ts in a process of its own (`node --import tsx test/fuzz/fuzz.ts`): under
 * the test runner's module instrumentation each input costs several times more.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { stringify } from 'yaml'
import { loadExperiment } from '../../src/experiment/load.ts'
import { planExperiment } from '../../src/engine/plan.ts'
import { loadEnvironment } from '../../src/environments/load.ts'
import { defaultRegistry } from '../../src/builtins.ts'
import { GamedayError } from '../../src/api/errors.ts'
import { MemoryEnvironment } from '../support/memory-environment.ts'

export const SEED = Number(process.env.GAMEDAY_FUZZ_SEED ?? 20261202)
export const EXPERIMENT_RUNS = Number(process.env.GAMEDAY_FUZZ_RUNS ?? 7000)
export const ENVIRONMENT_RUNS = Math.ceil(EXPERIMENT_RUNS / 2)
const CASE_TIMEOUT_MS = 5000

// in memory where the machine has it: ten thousand writes to disk cost seconds
const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'gameday-fuzz-'))
mkdirSync(join(root, 'experiments'))
mkdirSync(join(root, 'steady-state'))
writeFileSync(
  join(root, 'steady-state', 'slo.yaml'),
  'name: slo\nprobes:\n  - { name: slo-health, probe: nats-cluster-health, tolerance: "healthy == true" }\n',
)

const registry = defaultRegistry()
const STACK = /\n\s+at .+:\d+:\d+|TypeError|ReferenceError|Maximum call stack|\[object Object\]/

// ---- the schema's shape, each field valid or hostile -------------------------------------
const hostile = fc.oneof(
  fc.constant(null),
  fc.constant(''),
  fc.constant(-1),
  fc.constant(1e30),
  fc.constant('zz zz'),
  fc.constant([]),
  fc.constant({}),
  fc.string({ maxLength: 12 }),
  fc.integer(),
)
const maybe = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: hostile })

const duration = maybe(fc.constantFrom('1ms', '20ms', '500ms', '1s', '10s', '2m', '1h', '24h', '700h', '1000h', 'soon', '3 seconds', 5, 0))
const name = fc.oneof(fc.constantFrom('a', 'probe-1', 'load', 'health'), fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), fc.constantFrom('Bad Name', ''))
const probeType = fc.constantFrom(...registry.probeTypes(), 'no-such-probe')
const faultType = fc.constantFrom(...registry.faultTypes(), 'nats.explode')
const metric = fc.constantFrom('successRate', 'p99', 'lost', 'healthy', 'verdict', 'linearizable', 'nosuchmetric', 'errors.timeout', 'recoveryMs')
const value = fc.constantFrom('99.9%', '50ms', '2s', '0', '1', 'true', 'linearizable', '0.5', '5%', 'zz zz', '99.9ms')
const op = fc.constantFrom('>=', '<=', '==', '!=', '>', '<', '>>=', '<<<', '=')
const tolerance = maybe(fc.tuple(metric, op, value).map(([m, o, v]) => `${m} ${o} ${v}`))
const tolerances = fc.oneof(tolerance, fc.array(tolerance, { maxLength: 3 }))
const params = fc.oneof(
  { weight: 4, arbitrary: fc.constant({}) },
  fc.dictionary(
    fc.constantFrom('timeout', 'rate', 'via', 'cluster', 'duration', 'latency', 'groups', 'store', 'junk'),
    fc.oneof(duration, fc.integer({ min: -5, max: 500 }), fc.constantFrom('gateway', 'nats', 'core')),
    { maxKeys: 3 },
  ),
)
const selector = fc.record(
  {
    cluster: maybe(fc.constantFrom('core', 'edge')),
    nodes: maybe(fc.array(fc.constantFrom('n1', 'n2', 'n3', 'n4', 'n5', 'n9'), { maxLength: 5 })),
    az: maybe(fc.oneof(fc.constantFrom('az-a', 'az-b', 'az-c', 'az-z'), fc.array(fc.constantFrom('az-a', 'az-c'), { maxLength: 2 }))),
    role: maybe(fc.constantFrom('jetstream-meta-leader', 'stream-leader', 'any')),
    stream: fc.constantFrom('S1', 'KV_x'),
    service: maybe(fc.constantFrom('api', 'gateway')),
    cache: maybe(fc.constantFrom('cache', 'sessions')),
    count: maybe(fc.integer({ min: 0, max: 120 })),
    percent: maybe(fc.integer({ min: 0, max: 120 })),
    allowMajority: maybe(fc.constant(true)),
  },
  { requiredKeys: [] },
)
const probeSpec = fc.record({ name, probe: probeType, with: params, tolerance: tolerances, during: tolerances }, { requiredKeys: ['name', 'probe'] })
const common = { name: fc.string({ maxLength: 10 }), timeout: duration }

const { step } = fc.letrec<{ step: unknown; steps: unknown[] }>((tie) => ({
  step: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ fault: faultType, target: selector, with: params, duration, ...common }, { requiredKeys: ['fault'] }),
    fc.record({ wait: duration, ...common }, { requiredKeys: ['wait'] }),
    fc.record({ probe: probeSpec, ...common }, { requiredKeys: ['probe'] }),
    fc.record({ parallel: tie('steps'), ...common }, { requiredKeys: ['parallel'] }),
    fc.record({ sequence: tie('steps'), ...common }, { requiredKeys: ['sequence'] }),
    fc.record(
      {
        repeat: fc.record({ times: maybe(fc.integer({ min: 0, max: 20_000 })), every: duration, steps: tie('steps') }, { requiredKeys: ['times', 'steps'] }),
        ...common,
      },
      { requiredKeys: ['repeat'] },
    ),
    hostile,
  ),
  steps: fc.array(tie('step'), { maxLength: 3 }),
}))

const guardrail = fc.oneof(
  fc.record({ probe: fc.constantFrom('load', 'a', 'ghost'), abortWhen: tolerance, after: duration }, { requiredKeys: ['probe', 'abortWhen'] }),
  fc.record({ maxDuration: duration }),
  fc.record({ alarm: fc.string({ maxLength: 8 }) }),
  hostile,
)

const experiment = fc.record(
  {
    name: maybe(fc.constantFrom('fuzz', 'x')),
    description: fc.string({ maxLength: 20 }),
    seed: maybe(fc.oneof(fc.nat(), fc.constant(2 ** 40), fc.constant('banana'))),
    tags: maybe(fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 })),
    extensions: fc.constantFrom([], ['./missing.ts'], [42]),
    steadyState: maybe(
      fc.record(
        {
          include: maybe(fc.array(fc.constantFrom('slo', 'missing', '../../etc/passwd', '/dev/zero', '../steady-state'), { maxLength: 2 })),
          probes: fc.array(probeSpec, { maxLength: 2 }),
        },
        { requiredKeys: [] },
      ),
    ),
    load: maybe(fc.array(probeSpec, { maxLength: 2 })),
    method: fc.oneof({ weight: 8, arbitrary: fc.array(step, { minLength: 1, maxLength: 4 }) }, hostile),
    guardrails: fc.array(guardrail, { maxLength: 2 }),
    colour: fc.constant('blue'),
  },
  { requiredKeys: ['method'] },
)

// ---- and experiments valid by construction, so valid plans are exercised too ---------------
const short = fc.constantFrom('1ms', '10ms', '1s', '2m')
const validProbe = fc.oneof(
  fc.record({
    name: fc.constant('p'),
    probe: fc.constant('request-slo'),
    tolerance: fc.constantFrom('successRate >= 99%', 'p99 < 2s', ['successRate >= 0.95', 'p99 < 250ms']),
  }),
  fc.record({ name: fc.constant('p'), probe: fc.constant('nats-cluster-health'), tolerance: fc.constant('healthy == true') }),
)
const validFault = fc.oneof(
  fc.record({
    fault: fc.constantFrom('nats.kill-node', 'nats.stop-node', 'nats.pause-node'),
    target: fc.oneof(
      fc.record({ cluster: fc.constant('core'), nodes: fc.subarray(['n1', 'n2', 'n3', 'n4', 'n5'], { minLength: 1, maxLength: 2 }) }),
      fc.constant({ cluster: 'core', az: 'az-c' }),
    ),
    duration: short,
  }),
  fc.record({ fault: fc.constant('redis.throttle'), target: fc.constant({ cache: 'cache' }), with: fc.constant({ latency: '100ms' }) }),
  fc.record({ fault: fc.constant('service.stop-task'), target: fc.constant({ service: 'api', count: 1 }) }),
  fc.record({ fault: fc.constant('nats.lame-duck'), target: fc.constant({ cluster: 'core' }) }),
)
const { validStep } = fc.letrec<{ validStep: unknown; validSteps: unknown[] }>((tie) => ({
  validStep: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    validFault,
    fc.record({ wait: short }),
    fc.record({ probe: validProbe }),
    fc.record({ parallel: tie('validSteps') }),
    fc.record({ sequence: tie('validSteps') }),
    fc.record({ repeat: fc.record({ times: fc.integer({ min: 1, max: 3 }), every: short, steps: tie('validSteps') }) }),
  ),
  validSteps: fc.array(tie('validStep'), { minLength: 1, maxLength: 3 }),
}))
/** probe names made unique after generation */
function uniqueNames(value: unknown, counter = { n: 0 }): unknown {
  if (Array.isArray(value)) return value.map((v) => uniqueNames(v, counter))
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = uniqueNames(v, counter)
    if ('probe' in out && typeof out.probe === 'string' && 'name' in out) out.name = `p${counter.n++}`
    return out
  }
  return value
}
const validExperiment = fc
  .record({
    name: fc.constant('fuzz'),
    seed: fc.nat(),
    steadyState: fc.record({ include: fc.constantFrom([], ['slo']), probes: fc.array(validProbe, { maxLength: 2 }) }),
    load: fc.array(validProbe, { maxLength: 2 }),
    method: fc.array(validStep, { minLength: 1, maxLength: 4 }),
    guardrails: fc.array(fc.record({ maxDuration: fc.constantFrom('5m', '1h') }), { maxLength: 1 }),
  })
  .map((e) => uniqueNames(e))

/** The YAML text: as stringify writes it, or cut, or with one character garbled. */
const text = (value: fc.Arbitrary<unknown>) =>
  fc
    .tuple(
      value,
      fc.nat(),
      fc.constantFrom('clean', 'clean', 'clean', 'cut', 'garble'),
      fc.constantFrom(':', '[', '{', '"', '\t', '&x', '*y', '\u0000', '<<: 1'),
    )
    .map(([v, at, how, junk]) => {
      const yaml = stringify(v)
      if (how === 'clean' || yaml.length === 0) return yaml
      const i = at % yaml.length
      return how === 'cut' ? yaml.slice(0, i) : yaml.slice(0, i) + junk + yaml.slice(i + 1)
    })

// ---- environment files, over the environments' own shape --------------------------------
const node = fc.record({ name: maybe(fc.constantFrom('n1', 'n2', 'n3', 'N 4')), az: maybe(fc.constantFrom('az-a', 'az-b')) }, { requiredKeys: [] })
const environment = fc.record(
  {
    // aws loads take ~40 ms each (SDK clients): rarer, so the whole run stays within a minute
    kind: fc.oneof(
      { weight: 12, arbitrary: fc.constant('local') },
      { weight: 4, arbitrary: fc.constant('containers') },
      { weight: 1, arbitrary: fc.constant('aws') },
      { weight: 2, arbitrary: fc.constantFrom('kubernetes', 42) },
    ),
    stateDir: maybe(fc.constantFrom('.gameday/fuzz-never-used', '.', '/tmp/x')),
    clusters: maybe(
      fc.dictionary(fc.constantFrom('core', 'edge'), fc.record({ nodes: maybe(fc.array(node, { maxLength: 4 })) }, { requiredKeys: [] }), { maxKeys: 2 }),
    ),
    caches: maybe(
      fc.dictionary(fc.constantFrom('cache'), fc.record({ port: maybe(fc.integer({ min: -1, max: 70000 })) }, { requiredKeys: [] }), { maxKeys: 1 }),
    ),
    services: maybe(
      fc.dictionary(
        fc.constantFrom('api', 'gateway'),
        fc.record({ entry: fc.constantFrom('target/x.ts'), instances: maybe(fc.integer({ min: -1, max: 3 })), stopGrace: duration }, { requiredKeys: [] }),
        { maxKeys: 2 },
      ),
    ),
    region: fc.constantFrom('eu-west-1'),
  },
  { requiredKeys: ['kind'] },
)

// ---- the property -----------------------------------------------------------------------
function withTimeout<T>(what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`hang: ${what} took over ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS)),
  )
  return Promise.race([work, hang]).finally(() => clearTimeout(timer))
}

const experimentFile = join(root, 'experiments', 'fuzz.yaml')
const environmentFile = join(root, 'fuzz-environment.yaml')
let valid = 0
let planned = 0

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what)
}

async function checkExperiment(yaml: string): Promise<void> {
  writeFileSync(experimentFile, yaml)
  const r = await withTimeout('validate', loadExperiment(experimentFile, registry, { extensionTimeoutMs: 1000 }))
  if (!r.ok) {
    check(r.issues.length > 0, 'an invalid experiment without an issue')
    for (const i of r.issues) {
      check(i.line >= 1 && i.col >= 1, `an issue without a position: ${JSON.stringify(i)}`)
      check(i.message.length > 0 && !STACK.test(i.message), `an issue that reads like a crash: ${i.message}`)
    }
    return
  }
  valid++
  const { lines, refusals } = await withTimeout('plan', planExperiment(r.loaded, new MemoryEnvironment(), 1))
  check(lines.length > 0, 'an empty plan')
  for (const l of [...lines.map((x) => x.text), ...refusals]) check(!STACK.test(l), `a plan line that reads like a crash: ${l}`)
  planned++
}

async function checkEnvironment(yaml: string): Promise<void> {
  writeFileSync(environmentFile, yaml)
  let env
  try {
    env = await withTimeout('load environment', loadEnvironment(environmentFile))
  } catch (err) {
    const e = err as Error
    check(err instanceof GamedayError, `not a typed error: ${e?.stack ?? String(err)}`)
    check(e.message.includes('fuzz-environment.yaml'), `an error that does not name the file: ${e.message}`)
    check(!STACK.test(e.message), `an error that reads like a crash: ${e.message}`)
    return
  }
  await env.close?.()
}

try {
  let started = performance.now()
  await fc.assert(fc.asyncProperty(text(fc.oneof(experiment, validExperiment)), checkExperiment), { seed: SEED, numRuns: EXPERIMENT_RUNS, endOnFailure: true })
  console.log(
    `fuzz seed ${SEED}: ${EXPERIMENT_RUNS} experiments (${valid} valid and planned: ${planned}) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  )
  check(valid > 0, 'the generator never reached a valid experiment')
  started = performance.now()
  await fc.assert(fc.asyncProperty(text(environment), checkEnvironment), { seed: SEED, numRuns: ENVIRONMENT_RUNS, endOnFailure: true })
  console.log(`fuzz seed ${SEED}: ${ENVIRONMENT_RUNS} environment files in ${((performance.now() - started) / 1000).toFixed(1)} s`)
} finally {
  rmSync(root, { recursive: true, force: true })
}
