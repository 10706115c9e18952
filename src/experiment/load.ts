/**
 * Loading and validating experiments: YAML → model (parse.ts) → what the plugins' contracts say:
 * known probe and fault types, their parameters, every tolerance against the metrics and units
 * the probe declares, every fault selector against the target kinds the fault acts on,
 * steady-state includes, unique probe names, guardrails on running probes. Every problem is
 * collected — not just the first — with file:line:col; nothing is run.
 */
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { existsSync } from 'node:fs'
import type { z } from 'zod'
import type { Experiment, ProbeSpec } from './schema.ts'
import { YamlSource, type SourceIssue } from './yaml-source.ts'
import { EXPERIMENT_ITEMS, parseExperimentValue, parseSteadyStateValue, sourceOf, zodIssues } from './parse.ts'
import { parseTolerance } from './tolerance.ts'
import { toleranceList, toleranceProblem } from './tolerance.ts'
import { EXTENSION_LOAD_TIMEOUT_MS } from './limits.ts'
import { walkSteps } from '../engine/steps.ts'
import type { Registry } from '../api/registry.ts'
import { ValidationError } from '../api/errors.ts'
import { majorityByPercent, selectorMismatch } from '../api/selector.ts'
import { writeDuration } from '../util/duration.ts'

export interface LoadedExperiment {
  file: string
  experiment: Experiment
  /** the experiment's own steady-state probes plus those of included hypotheses */
  steadyState: ProbeSpec[]
  /** the registry with this experiment's extensions loaded */
  registry: Registry
}

export type LoadResult = { ok: true; loaded: LoadedExperiment } | { ok: false; issues: SourceIssue[] }

export interface LoadOptions {
  /** how long an extension module may take to load (default 10 s) */
  extensionTimeoutMs?: number
}

/** Where a probe is written, and the file it is written in. */
interface PlacedProbe {
  spec: ProbeSpec
  src: YamlSource
  path: PropertyKey[]
  /** appended to its problems: which experiment included the file it is written in (computed only when needed) */
  from?: () => string
}

export async function loadExperiment(file: string, baseRegistry: Registry, opts: LoadOptions = {}): Promise<LoadResult> {
  let source: YamlSource
  try {
    source = YamlSource.read(file, { items: EXPERIMENT_ITEMS })
  } catch (err) {
    if (err instanceof ValidationError && err.issues.length) return { ok: false, issues: err.issues }
    throw err
  }
  const syntax = source.syntaxIssues()
  if (syntax.length) return { ok: false, issues: syntax }

  const { experiment, issues: parseIssues } = parseExperimentValue(source.toJS())
  const issues: SourceIssue[] = parseIssues.map((i) => source.issue(i.path, i.message))

  const registry = baseRegistry.clone()
  for (const [i, ext] of experiment.extensions.entries()) {
    const path = isAbsolute(ext) ? ext : resolve(dirname(file), ext)
    if (!existsSync(path)) {
      issues.push(source.issue(['extensions', i], `extension module not found: ${path}`))
      continue
    }
    const problem = await loadExtension(registry, path, opts.extensionTimeoutMs ?? EXTENSION_LOAD_TIMEOUT_MS)
    if (problem) issues.push(source.issue(['extensions', i], problem))
  }

  // Probes: included hypotheses first, then the experiment's own, each checked where it is written.
  const probes: PlacedProbe[] = []
  const steadyState: ProbeSpec[] = []
  for (const [i, name] of experiment.steadyState.include.entries()) {
    const included = readInclude(file, name, source, ['steadyState', 'include', i], issues)
    for (const p of included) {
      probes.push(p)
      steadyState.push(p.spec)
    }
  }
  experiment.steadyState.probes.forEach((spec, i) => {
    probes.push({ spec, src: source, path: sourceOf(spec, ['steadyState', 'probes', i]) })
    steadyState.push(spec)
  })
  experiment.load.forEach((spec, i) => probes.push({ spec, src: source, path: sourceOf(spec, ['load', i]) }))

  await walkSteps(
    experiment.method,
    async (step, _at, inner, signal) => {
      if (step.kind === 'fault') checkFault(step, source, registry, issues)
      if (step.kind === 'probe') probes.push({ spec: step.probe, src: source, path: [...step.source, 'probe'] })
      await inner(signal)
    },
    'inspect',
  )

  const names = new Map<string, PlacedProbe>()
  for (const p of probes) checkProbe(p, registry, names, issues)
  checkGuardrails(experiment, source, registry, steadyState, issues)

  if (issues.length) return { ok: false, issues: inReadingOrder(dedupe(issues)) }
  return { ok: true, loaded: { file, experiment, steadyState, registry } }
}

/** the experiment's own problems top to bottom, then those of each included file */
function inReadingOrder(issues: SourceIssue[]): SourceIssue[] {
  const files = [...new Set(issues.map((i) => i.file))]
  return issues
    .map((issue, n) => ({ issue, n }))
    .sort((a, b) => files.indexOf(a.issue.file) - files.indexOf(b.issue.file) || a.issue.line - b.issue.line || a.issue.col - b.issue.col || a.n - b.n)
    .map((x) => x.issue)
}

function dedupe(issues: SourceIssue[]): SourceIssue[] {
  const seen = new Set<string>()
  return issues.filter((i) => {
    const key = `${i.file}:${i.line}:${i.col}:${i.message}`
    return seen.has(key) ? false : (seen.add(key), true)
  })
}

/** Loads one extension within a time bound; returns what went wrong, or undefined. */
async function loadExtension(registry: Registry, path: string, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<string>((done) => {
    timer = setTimeout(
      () => done(`extension ${path} did not finish loading within ${writeDuration(timeoutMs)} (a top-level await that never settles?): fix the module`),
      timeoutMs,
    )
  })
  try {
    return await Promise.race([
      registry.loadExtension(path).then(
        () => undefined,
        (err: unknown) => (err instanceof ValidationError ? err.message : `cannot load extension ${path}: ${(err as Error)?.message ?? String(err)}`),
      ),
      timeout,
    ])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * `include: [name]` finds steady-state/<name>.yaml beside or above the experiment's folder; a
 * path is taken relative to the experiment. Either way it must stay inside the experiment's
 * folder tree (the folder holding the experiment's folder), be a regular file and within bounds.
 */
function readInclude(experimentFile: string, name: string, source: YamlSource, at: PropertyKey[], issues: SourceIssue[]): PlacedProbe[] {
  const dir = dirname(experimentFile)
  const root = dirname(dir)
  let includeFile: string
  if (name.endsWith('.yaml') || name.endsWith('.yml') || name.includes('/')) includeFile = isAbsolute(name) ? name : resolve(dir, name)
  else {
    const candidates = [join(root, 'steady-state', `${name}.yaml`), join(dir, 'steady-state', `${name}.yaml`)]
    includeFile = candidates.find((c) => existsSync(c)) ?? candidates[0]
  }
  const inside = relative(root, includeFile)
  if (inside.startsWith('..') || isAbsolute(inside) || inside.split(sep).includes('..')) {
    issues.push(
      source.issue(
        at,
        `include "${name}" resolves to ${includeFile}, outside this experiment's folder tree (${root}): copy the hypothesis into ${join(root, 'steady-state')}`,
      ),
    )
    return []
  }
  if (!existsSync(includeFile)) {
    issues.push(source.issue(at, `steady-state hypothesis not found: ${includeFile}`))
    return []
  }
  let inc: YamlSource
  try {
    inc = YamlSource.read(includeFile)
  } catch (err) {
    const message = err instanceof ValidationError && err.issues.length ? err.issues[0].message : (err as Error).message
    issues.push(source.issue(at, `cannot include ${includeFile}: ${message}`))
    return []
  }
  const from = () => {
    const where = source.position(at)
    return ` (included from ${source.file}:${where.line}:${where.col})`
  }
  const incSyntax = inc.syntaxIssues()
  if (incSyntax.length) {
    issues.push(...incSyntax.map((i) => ({ ...i, message: i.message + from() })))
    return []
  }
  const { hypothesis, issues: incIssues } = parseSteadyStateValue(inc.toJS())
  issues.push(...incIssues.map((i) => inc.issue(i.path, i.message + from())))
  return hypothesis.probes.map((spec, j) => ({ spec, src: inc, path: sourceOf(spec, ['probes', j]), from }))
}

function validateParams(src: YamlSource, path: PropertyKey[], schema: z.ZodType, value: unknown, issues: SourceIssue[]): void {
  const parsed = schema.safeParse(value ?? {})
  if (!parsed.success) for (const i of zodIssues(path, parsed.error, value)) issues.push(src.issue(i.path, i.message))
}

function checkProbe(p: PlacedProbe, registry: Registry, names: Map<string, PlacedProbe>, all: SourceIssue[]): void {
  const { spec, src, path } = p
  const issues: SourceIssue[] = []
  const type = registry.probe(spec.probe)
  if (!type) issues.push(src.issue([...path, 'probe'], `unknown probe type "${spec.probe}" (known: ${registry.probeTypes().join(', ')})`))
  else validateParams(src, [...path, 'with'], type.params, spec.with, issues)
  for (const key of ['tolerance', 'during'] as const) {
    const list = spec[key]
    toleranceList(list).forEach((t, i) => {
      // without a known type, the syntax is still checked
      const problem = type ? toleranceProblem(t, type.metrics, type.type) : syntaxProblem(t)
      if (problem) issues.push(src.issue(Array.isArray(list) ? [...path, key, i] : [...path, key], problem))
    })
  }
  const seen = names.get(spec.name)
  // positions only when there is a problem: in a large file they cost a second, positioned parse
  if (seen) issues.push(src.issue([...path, 'name'], `probe name "${spec.name}" is already used at ${seen.src.file}:${seen.src.position(seen.path).line}`))
  else names.set(spec.name, p)
  all.push(...issues.map((i) => (p.from ? { ...i, message: i.message + p.from() } : i)))
}

function syntaxProblem(tolerance: string): string | undefined {
  try {
    parseTolerance(tolerance)
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

function checkFault(step: Extract<Experiment['method'][number], { kind: 'fault' }>, source: YamlSource, registry: Registry, issues: SourceIssue[]): void {
  const path = step.source
  const type = registry.fault(step.fault)
  if (!type) {
    issues.push(source.issue([...path, 'fault'], `unknown fault type "${step.fault}" (known: ${registry.faultTypes().join(', ')})`))
    return
  }
  validateParams(source, [...path, 'with'], type.params, step.with, issues)
  const mismatch = selectorMismatch(step.fault, type.targets, step.target)
  if (mismatch) issues.push(source.issue([...path, 'target', mismatch.field], mismatch.message))
  else if (majorityByPercent(type.targets, step.target)) {
    issues.push(
      source.issue(
        [...path, 'target', 'percent'],
        `percent: ${step.target.percent} of a whole cluster is never a minority: the cluster loses its quorum; if that is the experiment, add allowMajority: true to the target`,
      ),
    )
  }
}

function checkGuardrails(experiment: Experiment, source: YamlSource, registry: Registry, steadyState: ProbeSpec[], issues: SourceIssue[]): void {
  const continuous = new Map<string, ProbeSpec>()
  for (const p of [...experiment.load, ...steadyState.filter((s) => s.during)]) continuous.set(p.name, p)
  experiment.guardrails.forEach((g, i) => {
    if (!('probe' in g)) return
    const at = sourceOf(g, ['guardrails', i])
    const spec = continuous.get(g.probe)
    if (!spec) {
      const syntax = syntaxProblem(g.abortWhen)
      if (syntax) issues.push(source.issue([...at, 'abortWhen'], syntax))
      issues.push(
        source.issue(
          [...at, 'probe'],
          `guardrail refers to "${g.probe}", which does not run through the method (a load: probe, or a steady-state probe with during:)`,
        ),
      )
      return
    }
    const type = registry.probe(spec.probe)
    const problem = type && toleranceProblem(g.abortWhen, type.metrics, type.type)
    if (problem) issues.push(source.issue([...at, 'abortWhen'], problem))
  })
}
