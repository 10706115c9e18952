/**
 * Loading and validating experiments: YAML → schema → semantics (known probe and fault types,
 * their parameters, steady-state includes, unique probe names, guardrails that refer to
 * running probes). Every problem is collected — not just the first — with file:line:col.
 */
import { existsSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import type { z } from 'zod'
import { ExperimentSchema, SteadyStateSchema, type Experiment, type ProbeSpec, type Step } from './schema.ts'
import { YamlSource, type SourceIssue } from './yaml-source.ts'
import type { Registry } from '../api/registry.ts'

export interface LoadedExperiment {
  file: string
  experiment: Experiment
  /** the experiment's own steady-state probes plus those of included hypotheses */
  steadyState: ProbeSpec[]
  /** the registry with this experiment's extensions loaded */
  registry: Registry
}

export type LoadResult = { ok: true; loaded: LoadedExperiment } | { ok: false; issues: SourceIssue[] }

type Issue = z.core.$ZodIssue

const STEP_KEYS = ['fault', 'wait', 'probe', 'parallel', 'sequence', 'repeat']
const GUARDRAIL_KEYS = ['probe', 'maxDuration', 'alarm']

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let v = root
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined
  return v
}

/**
 * zod reports a failed union as one issue holding every branch's issues. A step or guardrail
 * that has none of its kind's keys gets one plain sentence; otherwise keep the branch that got
 * furthest into the value.
 */
function flatten(issue: Issue, base: PropertyKey[] = [], root?: unknown): { path: PropertyKey[]; message: string }[] {
  const path = [...base, ...issue.path]
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const value = valueAt(root, path)
    const isGuardrail = path.includes('guardrails')
    const keys = isGuardrail ? GUARDRAIL_KEYS : STEP_KEYS
    if (value && typeof value === 'object' && !Array.isArray(value) && !keys.some((k) => k in value)) {
      return [{ path, message: `not a known form: expected ${describeUnion(path)}` }]
    }
    const branches = issue.errors.map((branch) => branch.flatMap((i) => flatten(i, path, root)))
    const score = (b: { path: PropertyKey[] }[]) => Math.min(...b.map((i) => -i.path.length)) * 1000 + b.length
    branches.sort((a, b) => score(a) - score(b))
    return branches[0]
  }
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => ({ path: [...path, k], message: `unknown field "${k}"` }))
  }
  return [{ path, message: issue.message }]
}

function describeUnion(path: PropertyKey[]): string {
  if (path.includes('method') || path.includes('parallel') || path.includes('sequence') || path.includes('steps')) {
    return 'a step with one of fault:, wait:, probe:, parallel:, sequence:, repeat:'
  }
  if (path.includes('guardrails')) return 'a guardrail with probe: and abortWhen:, or maxDuration:, or alarm:'
  return 'one of the documented forms'
}

function schemaIssues(source: YamlSource, error: z.ZodError): SourceIssue[] {
  const root = source.toJS()
  return error.issues.flatMap((i) => flatten(i, [], root)).map((i) => source.issue(i.path, i.message))
}

function resolveInclude(experimentFile: string, name: string): string {
  const dir = dirname(experimentFile)
  if (name.endsWith('.yaml') || name.endsWith('.yml') || name.includes('/')) {
    return isAbsolute(name) ? name : resolve(dir, name)
  }
  const candidates = [join(dir, '..', 'steady-state', `${name}.yaml`), join(dir, 'steady-state', `${name}.yaml`), resolve('steady-state', `${name}.yaml`)]
  return candidates.find((c) => existsSync(c)) ?? candidates[0]
}

function validateParams(source: YamlSource, path: PropertyKey[], schema: z.ZodType, value: unknown, issues: SourceIssue[]): void {
  const parsed = schema.safeParse(value ?? {})
  if (!parsed.success) {
    for (const i of parsed.error.issues.flatMap((x) => flatten(x, [], value))) issues.push(source.issue([...path, ...i.path], i.message))
  }
}

function walkSteps(steps: Step[], path: PropertyKey[], visit: (step: Step, path: PropertyKey[]) => void): void {
  steps.forEach((step, i) => {
    const p = [...path, i]
    visit(step, p)
    if ('parallel' in step) walkSteps(step.parallel, [...p, 'parallel'], visit)
    if ('sequence' in step) walkSteps(step.sequence, [...p, 'sequence'], visit)
    if ('repeat' in step) walkSteps(step.repeat.steps, [...p, 'repeat', 'steps'], visit)
  })
}

export async function loadExperiment(file: string, baseRegistry: Registry): Promise<LoadResult> {
  let source: YamlSource
  try {
    source = YamlSource.read(file)
  } catch (err) {
    return { ok: false, issues: [{ file, line: 1, col: 1, message: (err as Error).message.replace(`${file}: `, '') }] }
  }
  const syntax = source.syntaxIssues()
  if (syntax.length) return { ok: false, issues: syntax }

  const parsed = ExperimentSchema.safeParse(source.toJS())
  if (!parsed.success) return { ok: false, issues: schemaIssues(source, parsed.error) }
  const experiment = parsed.data
  const issues: SourceIssue[] = []

  const registry = baseRegistry.clone()
  experiment.extensions.forEach((ext, i) => {
    const path = isAbsolute(ext) ? ext : resolve(dirname(file), ext)
    if (!existsSync(path)) issues.push(source.issue(['extensions', i], `extension module not found: ${path}`))
  })
  for (const [i, ext] of experiment.extensions.entries()) {
    const path = isAbsolute(ext) ? ext : resolve(dirname(file), ext)
    if (!existsSync(path)) continue
    try {
      await registry.loadExtension(path)
    } catch (err) {
      issues.push(source.issue(['extensions', i], `cannot load extension: ${(err as Error).message}`))
    }
  }

  // Probes: included hypotheses first, then the experiment's own, each checked where it is written.
  const steadyState: ProbeSpec[] = []
  const names = new Map<string, string>()
  const checkProbe = (src: YamlSource, spec: ProbeSpec, path: PropertyKey[]) => {
    const type = registry.probe(spec.probe)
    if (!type) {
      issues.push(src.issue([...path, 'probe'], `unknown probe type "${spec.probe}" (known: ${registry.probeTypes().join(', ')})`))
    } else {
      validateParams(src, [...path, 'with'], type.params, spec.with, issues)
    }
    const seen = names.get(spec.name)
    if (seen) issues.push(src.issue([...path, 'name'], `probe name "${spec.name}" is already used at ${seen}`))
    const pos = src.position(path)
    names.set(spec.name, `${src.file}:${pos.line}`)
  }

  experiment.steadyState.include.forEach((name, i) => {
    const includeFile = resolveInclude(file, name)
    if (!existsSync(includeFile)) {
      issues.push(source.issue(['steadyState', 'include', i], `steady-state hypothesis not found: ${includeFile}`))
      return
    }
    const inc = YamlSource.read(includeFile)
    const incSyntax = inc.syntaxIssues()
    if (incSyntax.length) return void issues.push(...incSyntax)
    const incParsed = SteadyStateSchema.safeParse(inc.toJS())
    if (!incParsed.success) return void issues.push(...schemaIssues(inc, incParsed.error))
    incParsed.data.probes.forEach((p, j) => {
      checkProbe(inc, p, ['probes', j])
      steadyState.push(p)
    })
  })
  experiment.steadyState.probes.forEach((p, i) => {
    checkProbe(source, p, ['steadyState', 'probes', i])
    steadyState.push(p)
  })
  experiment.load.forEach((p, i) => checkProbe(source, p, ['load', i]))

  walkSteps(experiment.method, ['method'], (step, path) => {
    if ('fault' in step) {
      const type = registry.fault(step.fault)
      if (!type) {
        issues.push(source.issue([...path, 'fault'], `unknown fault type "${step.fault}" (known: ${registry.faultTypes().join(', ')})`))
      } else {
        validateParams(source, [...path, 'with'], type.params, step.with, issues)
      }
    }
    if ('probe' in step) checkProbe(source, step.probe, [...path, 'probe'])
  })

  const continuous = new Set([...experiment.load.map((p) => p.name), ...steadyState.filter((p) => p.during).map((p) => p.name)])
  experiment.guardrails.forEach((g, i) => {
    if ('probe' in g && !continuous.has(g.probe)) {
      issues.push(
        source.issue(
          ['guardrails', i, 'probe'],
          `guardrail refers to "${g.probe}", which does not run through the method (a load: probe, or a steady-state probe with during:)`,
        ),
      )
    }
  })

  if (issues.length) return { ok: false, issues }
  return { ok: true, loaded: { file, experiment, steadyState, registry } }
}
