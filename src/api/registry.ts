/**
 * Where probe and fault types are looked up by name. Built-ins register themselves through the
 * same calls users' extensions use (an experiment's `extensions:` modules export `probes` and/or
 * `faults` arrays), so there is one way in — and one check at the door: a probe or fault whose
 * shape breaks the contract (no `params`, no `metrics`, no `targets`, a method missing) is a
 * ValidationError naming the module and the plugin, never a TypeError later in validate or run.
 */
import { pathToFileURL } from 'node:url'
import type { FaultType, TargetKind } from './fault.ts'
import type { MetricUnit, ProbeType } from './probe.ts'
import { ValidationError } from './errors.ts'
import { toleranceProblem } from '../experiment/tolerance.ts'

export interface Extension {
  probes?: ProbeType<any>[]
  faults?: FaultType<any, any>[]
}

const METRIC_UNITS: readonly MetricUnit[] = ['count', 'ms', 'ratio', 'per-second', 'number', 'boolean', 'text']
const TARGET_KINDS: readonly TargetKind[] = ['node', 'task', 'cache', 'az', 'shard', 'other']

let tsxRegistered = false

const isSchema = (v: unknown) => v !== null && typeof v === 'object' && typeof (v as { safeParse?: unknown }).safeParse === 'function'

/** What is wrong with a probe's shape, or an empty list. */
export function probeShapeProblems(p: unknown): string[] {
  if (p === null || typeof p !== 'object')
    return [`is ${p === null ? 'null' : typeof p}, not a probe (use defineProbe({ type, description, params, metrics, create }))`]
  const probe = p as Partial<ProbeType<unknown>>
  const out: string[] = []
  if (typeof probe.type !== 'string' || !probe.type) out.push('has no `type` (a name like "queue-depth")')
  if (typeof probe.description !== 'string') out.push('has no `description`')
  if (!isSchema(probe.params)) out.push('has no `params` (a zod schema of its `with:` block, e.g. z.strictObject({}))')
  if (typeof probe.create !== 'function') out.push('has no `create(ctx, params)` function')
  const metrics = probe.metrics as unknown
  if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) {
    out.push("has no `metrics` (name → { unit, description }, e.g. { pending: { unit: 'count', description: 'messages waiting' } })")
  } else {
    for (const [name, spec] of Object.entries(metrics)) {
      const unit = (spec as { unit?: unknown } | null)?.unit
      if (!METRIC_UNITS.includes(unit as MetricUnit)) out.push(`metric "${name}" has unit ${JSON.stringify(unit)}: one of ${METRIC_UNITS.join(', ')}`)
    }
    if (out.length === 0 && probe.defaultTolerance !== undefined) {
      if (!Array.isArray(probe.defaultTolerance)) out.push('`defaultTolerance` must be a list of tolerances')
      else
        for (const t of probe.defaultTolerance) {
          const problem = typeof t === 'string' ? toleranceProblem(t, probe.metrics!, probe.type!) : 'a tolerance is a string'
          if (problem) out.push(`defaultTolerance: ${problem}`)
        }
    }
  }
  return out
}

/** What is wrong with a fault's shape, or an empty list. */
export function faultShapeProblems(f: unknown): string[] {
  if (f === null || typeof f !== 'object')
    return [`is ${f === null ? 'null' : typeof f}, not a fault (use defineFault({ type, description, targets, params, resolve, describe, inject, revert }))`]
  const fault = f as Partial<FaultType<unknown>>
  const out: string[] = []
  if (typeof fault.type !== 'string' || !fault.type) out.push('has no `type` (a name like "custom.noop")')
  if (typeof fault.description !== 'string') out.push('has no `description`')
  if (!isSchema(fault.params)) out.push('has no `params` (a zod schema of its `with:` block, e.g. z.strictObject({}))')
  if (!Array.isArray(fault.targets) || fault.targets.length === 0) {
    out.push(`has no \`targets\` (the kinds it acts on: ${TARGET_KINDS.join(', ')})`)
  } else {
    const bad = fault.targets.filter((k) => !TARGET_KINDS.includes(k))
    if (bad.length) out.push(`targets ${JSON.stringify(bad)}: each one of ${TARGET_KINDS.join(', ')}`)
  }
  for (const m of ['resolve', 'describe', 'inject', 'revert'] as const) {
    if (typeof fault[m] !== 'function') out.push(`has no \`${m}\` function`)
  }
  return out
}

function refuse(origin: string, what: string, index: number, item: unknown, problems: string[]): never {
  const name = (item as { type?: unknown } | null)?.type
  const label = `${what} #${index + 1}${typeof name === 'string' && name ? ` ("${name}")` : ''}`
  throw new ValidationError(`${origin}: ${label} ${problems.join('; ')}`)
}

export class Registry {
  private readonly probes = new Map<string, ProbeType<any>>()
  private readonly faults = new Map<string, FaultType<any, any>>()

  registerProbe(probe: ProbeType<any>, origin = 'registry', index = 0): this {
    const problems = probeShapeProblems(probe)
    if (problems.length) refuse(origin, 'probe', index, probe, problems)
    if (this.probes.has(probe.type)) throw new ValidationError(`${origin}: probe type "${probe.type}" is registered twice`)
    this.probes.set(probe.type, probe)
    return this
  }

  registerFault(fault: FaultType<any, any>, origin = 'registry', index = 0): this {
    const problems = faultShapeProblems(fault)
    if (problems.length) refuse(origin, 'fault', index, fault, problems)
    if (this.faults.has(fault.type)) throw new ValidationError(`${origin}: fault type "${fault.type}" is registered twice`)
    this.faults.set(fault.type, fault)
    return this
  }

  /** Registers every probe and fault of an extension, or none: the first bad one is refused before any is added. */
  register(extension: Extension, origin = 'registry'): this {
    const probes: unknown = extension.probes ?? []
    const faults: unknown = extension.faults ?? []
    if (!Array.isArray(probes)) throw new ValidationError(`${origin}: \`probes\` must be an array of probes`)
    if (!Array.isArray(faults)) throw new ValidationError(`${origin}: \`faults\` must be an array of faults`)
    probes.forEach((p, i) => {
      const problems = probeShapeProblems(p)
      if (problems.length) refuse(origin, 'probe', i, p, problems)
    })
    faults.forEach((f, i) => {
      const problems = faultShapeProblems(f)
      if (problems.length) refuse(origin, 'fault', i, f, problems)
    })
    probes.forEach((p, i) => this.registerProbe(p as ProbeType<any>, origin, i))
    faults.forEach((f, i) => this.registerFault(f as FaultType<any, any>, origin, i))
    return this
  }

  probe(type: string): ProbeType<any> | undefined {
    return this.probes.get(type)
  }

  fault(type: string): FaultType<any, any> | undefined {
    return this.faults.get(type)
  }

  probeTypes(): string[] {
    return [...this.probes.keys()].sort()
  }

  faultTypes(): string[] {
    return [...this.faults.keys()].sort()
  }

  /** a copy, so one experiment's extensions don't leak into the next */
  clone(): Registry {
    const copy = new Registry()
    for (const p of this.probes.values()) copy.probes.set(p.type, p)
    for (const f of this.faults.values()) copy.faults.set(f.type, f)
    return copy
  }

  /** Imports an extension module and registers what it exports; every problem is a ValidationError naming the module. */
  async loadExtension(modulePath: string): Promise<void> {
    // Extensions are usually TypeScript: make sure a loader is in place even when gameday itself runs compiled.
    if (/\.[cm]?ts$/.test(modulePath) && !tsxRegistered) {
      const { register } = await import('tsx/esm/api')
      register()
      tsxRegistered = true
    }
    let mod: Extension & { default?: Extension }
    try {
      mod = (await import(pathToFileURL(modulePath).href)) as Extension & { default?: Extension }
    } catch (err) {
      const e = err as Error
      throw new ValidationError(`${modulePath}: the module failed to load: ${e?.message ?? String(err)}`, [], { cause: err })
    }
    const ext: Extension = { probes: mod.probes ?? mod.default?.probes, faults: mod.faults ?? mod.default?.faults }
    const empty = (v: unknown) => v === undefined || (Array.isArray(v) && v.length === 0)
    if (empty(ext.probes) && empty(ext.faults)) {
      throw new ValidationError(`${modulePath}: exports no \`probes\` or \`faults\` array`)
    }
    this.register(ext, modulePath)
  }
}
