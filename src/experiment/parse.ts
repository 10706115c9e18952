/**
 * From the YAML value to the experiment model, field by field and item by item: every schema
 * problem is reported, and whatever is valid is kept, so the semantic checks that follow (known
 * probe and fault types, tolerances against the probes' metrics) still run on the rest — one
 * schema error does not hide the file's other problems.
 */
import type { z } from 'zod'
import {
  AlarmGuardrailSchema,
  ExperimentSchema,
  MaxDurationGuardrailSchema,
  ProbeGuardrailSchema,
  ProbeSpecSchema,
  SteadyStateSchema,
  type Experiment,
  type Guardrail,
  type ProbeSpec,
  type SteadyState,
} from './schema.ts'
import { parseSteps, readStep, type StepIssue } from './steps.ts'

type Issue = z.core.$ZodIssue

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let v = root
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined
  return v
}

/**
 * zod issues under `base`, one per problem. A failed union (in a plugin's parameters) keeps the
 * branch that got furthest into the value; unknown keys are named one by one.
 */
export function zodIssues(base: PropertyKey[], error: z.ZodError, value: unknown): StepIssue[] {
  return error.issues.flatMap((i) => flatten(i, [], value)).map((i) => ({ path: [...base, ...i.path], message: i.message }))
}

function flatten(issue: Issue, base: PropertyKey[], root: unknown): { path: PropertyKey[]; message: string }[] {
  const path = [...base, ...issue.path]
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const branches = issue.errors.map((branch) => branch.flatMap((i) => flatten(i, path, root)))
    const score = (b: { path: PropertyKey[] }[]) => Math.min(...b.map((i) => -i.path.length)) * 1000 + b.length
    branches.sort((a, b) => score(a) - score(b))
    return branches[0]
  }
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => ({ path: [...path, k], message: `unknown field "${k}"` }))
  }
  if (issue.code === 'invalid_type' && valueAt(root, path) === undefined) {
    const field = path.at(-1)
    if (typeof field === 'string') return [{ path: path.slice(0, -1), message: `missing ${field}: (${issue.message.replace(/, received undefined$/, '')})` }]
  }
  return [{ path, message: issue.message }]
}

/** Where each parsed probe spec or guardrail is written: items that failed to parse leave gaps, so indexes shift. */
const SOURCES = new WeakMap<object, PropertyKey[]>()

export function sourceOf(item: object, fallback: PropertyKey[]): PropertyKey[] {
  return SOURCES.get(item) ?? fallback
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

function parseItems<T>(raw: unknown, path: PropertyKey[], item: (value: unknown, path: PropertyKey[]) => T | undefined, issues: StepIssue[]): T[] {
  if (raw === undefined) return []
  if (!Array.isArray(raw)) {
    issues.push({ path, message: 'expected a list' })
    return []
  }
  const out: T[] = []
  raw.forEach((v, i) => {
    const parsed = item(v, [...path, i])
    if (parsed === undefined) return
    if (typeof parsed === 'object' && parsed !== null) SOURCES.set(parsed, [...path, i])
    out.push(parsed)
  })
  return out
}

function parseWith<T>(schema: z.ZodType<T>, raw: unknown, path: PropertyKey[], issues: StepIssue[]): T | undefined {
  const parsed = schema.safeParse(raw)
  if (parsed.success) return parsed.data
  issues.push(...zodIssues(path, parsed.error, raw))
  return undefined
}

export function parseProbeSpec(raw: unknown, path: PropertyKey[], issues: StepIssue[]): ProbeSpec | undefined {
  return parseWith(ProbeSpecSchema, raw, path, issues)
}

const GUARDRAIL_FORMS = [
  ['probe', ProbeGuardrailSchema],
  ['maxDuration', MaxDurationGuardrailSchema],
  ['alarm', AlarmGuardrailSchema],
] as const

function parseGuardrail(raw: unknown, path: PropertyKey[], issues: StepIssue[]): Guardrail | undefined {
  const form = isRecord(raw) ? GUARDRAIL_FORMS.find(([key]) => key in raw) : undefined
  if (!form) {
    issues.push({ path, message: 'not a known form: expected a guardrail with probe: and abortWhen:, or maxDuration:, or alarm:' })
    return undefined
  }
  return parseWith(form[1] as z.ZodType<Guardrail>, raw, path, issues)
}

const FIELDS = ExperimentSchema.shape
const TOP_LEVEL = new Set(Object.keys(FIELDS))

/** How an experiment file is read: its method's steps are parsed as the file is read (see ReadStep). */
export const EXPERIMENT_ITEMS = {
  method: (item: unknown, index: number) => readStep(item, ['method', index], zodIssues),
}

/** The experiment, with what could not be parsed left out (or at its default), and every problem found. */
export function parseExperimentValue(raw: unknown): { experiment: Experiment; issues: StepIssue[] } {
  const issues: StepIssue[] = []
  const obj: Record<string, unknown> = isRecord(raw) ? raw : {}
  if (!isRecord(raw)) issues.push({ path: [], message: 'an experiment is a mapping with at least name: and method:' })
  for (const key of Object.keys(obj)) if (!TOP_LEVEL.has(key)) issues.push({ path: [key], message: `unknown field "${key}"` })

  const field = <K extends 'name' | 'description' | 'tags' | 'seed' | 'extensions'>(key: K, fallback: z.infer<(typeof FIELDS)[K]>) => {
    const parsed = FIELDS[key].safeParse(obj[key])
    if (parsed.success) return parsed.data as z.infer<(typeof FIELDS)[K]>
    if (obj[key] === undefined) {
      if (isRecord(raw)) issues.push({ path: [], message: `missing ${key}: (${key === 'name' ? "the experiment's name" : key})` })
    } else issues.push(...zodIssues([key], parsed.error, obj[key]))
    return fallback
  }
  const name = field('name', '')
  const description = field('description', '')
  const tags = field('tags', [])
  const seed = field('seed', undefined)
  const extensions = field('extensions', [])

  const ss = obj.steadyState
  let include: string[] = []
  let ssProbes: ProbeSpec[] = []
  if (ss !== undefined && !isRecord(ss)) issues.push({ path: ['steadyState'], message: 'expected a mapping with include: and/or probes:' })
  else if (ss) {
    for (const key of Object.keys(ss)) if (key !== 'include' && key !== 'probes') issues.push({ path: ['steadyState', key], message: `unknown field "${key}"` })
    include = parseItems(
      ss.include,
      ['steadyState', 'include'],
      (v, p) => (typeof v === 'string' ? v : void issues.push({ path: p, message: 'expected the name or path of a steady-state hypothesis' })),
      issues,
    )
    ssProbes = parseItems(ss.probes, ['steadyState', 'probes'], (v, p) => parseProbeSpec(v, p, issues), issues)
  }
  const load = parseItems(obj.load, ['load'], (v, p) => parseProbeSpec(v, p, issues), issues)
  const guardrails = parseItems(obj.guardrails, ['guardrails'], (v, p) => parseGuardrail(v, p, issues), issues)
  let method: Experiment['method'] = []
  if (obj.method === undefined) {
    if (isRecord(raw)) issues.push({ path: [], message: 'missing method: (the steps of the experiment)' })
  } else {
    const parsed = parseSteps(obj.method, ['method'], zodIssues)
    method = parsed.steps
    issues.push(...parsed.issues)
  }
  const experiment: Experiment = {
    name,
    description,
    tags,
    ...(seed !== undefined ? { seed } : {}),
    extensions,
    steadyState: { include, probes: ssProbes },
    load,
    method,
    guardrails,
  }
  return { experiment, issues }
}

/** A steady-state hypothesis file, item by item like an experiment. */
export function parseSteadyStateValue(raw: unknown): { hypothesis: SteadyState; issues: StepIssue[] } {
  const issues: StepIssue[] = []
  if (!isRecord(raw))
    return {
      hypothesis: { name: '', description: '', probes: [] },
      issues: [{ path: [], message: 'a steady-state hypothesis is a mapping with name: and probes:' }],
    }
  const shape = SteadyStateSchema.shape
  for (const key of Object.keys(raw)) if (!(key in shape)) issues.push({ path: [key], message: `unknown field "${key}"` })
  const name = parseWith(shape.name, raw.name, ['name'], issues) ?? ''
  const description = parseWith(shape.description, raw.description, ['description'], issues) ?? ''
  if (!Array.isArray(raw.probes) || raw.probes.length === 0)
    issues.push({ path: raw.probes === undefined ? [] : ['probes'], message: 'needs probes: (at least one)' })
  const probes = parseItems(raw.probes, ['probes'], (v, p) => parseProbeSpec(v, p, issues), issues)
  return { hypothesis: { name, description, probes }, issues }
}
