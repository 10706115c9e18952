/**
 * Running one probe and judging it: the engine's side of the probe contract. The probe
 * produces metrics; tolerances from the experiment (or the probe's defaults) decide the
 * verdict; the verdict goes to the journal with the figures behind it.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Environment, Logger } from '../api/environment.ts'
import type { Json } from '../api/fault.ts'
import type { FaultEvent, Phase, Probe, ProbeContext, ProbeResult, ProbeType, VerdictKind } from '../api/probe.ts'
import type { Registry } from '../api/registry.ts'
import type { ProbeSpec } from '../experiment/schema.ts'
import { evaluateTolerance, findMetric, parseTolerance, toleranceList, type ToleranceResult } from '../experiment/tolerance.ts'
import type { JournalWriter } from '../journal/journal.ts'
import type { EventOf } from '../journal/events.ts'
import type { Rng } from '../util/rng.ts'

export interface ProbeHost {
  env: Environment
  registry: Registry
  journal: JournalWriter
  runDir: string
  rng: Rng
  log: Logger
  onFault(listener: (e: FaultEvent) => void): () => void
}

export interface ProbeHandle {
  spec: ProbeSpec
  type: ProbeType<any>
  probe: Probe
  phase: Phase
}

export async function createProbe(host: ProbeHost, spec: ProbeSpec, phase: Phase, signal: AbortSignal): Promise<ProbeHandle> {
  const type = host.registry.probe(spec.probe)
  if (!type) throw new Error(`unknown probe type ${spec.probe}`)
  const params = type.params.parse(spec.with ?? {})
  const artifacts = join(host.runDir, 'artifacts')
  const ctx: ProbeContext = {
    env: host.env,
    name: spec.name,
    phase,
    rng: host.rng.fork(`probe:${spec.name}:${phase}`),
    log: host.log,
    signal,
    artifactPath: (file) => {
      mkdirSync(artifacts, { recursive: true })
      return join(artifacts, `${spec.name}.${phase}.${file}`)
    },
    evidence: (kind, data) => host.journal.append({ type: 'evidence', kind, source: `probe:${spec.name}`, data }),
    onFault: host.onFault,
    now: () => host.journal.now(),
  }
  const probe = await type.create(ctx, params)
  host.journal.append({ type: 'probe.started', probe: spec.name, probeType: spec.probe, phase })
  return { spec, type, probe, phase }
}

/** Tolerances in force for a phase: `during:` through the method, `tolerance:` otherwise. */
export function tolerancesFor(handle: Pick<ProbeHandle, 'spec' | 'type'>, phase: Phase): string[] {
  const chosen = toleranceList(phase === 'during' ? (handle.spec.during ?? handle.spec.tolerance) : handle.spec.tolerance)
  return chosen.length ? chosen : (handle.type.defaultTolerance ?? [])
}

export function judge(host: ProbeHost, handle: ProbeHandle, result: ProbeResult | undefined, error?: unknown): EventOf<'probe.verdict'> {
  const metrics = result?.metrics ?? {}
  const unitOf = (metric: string) => findMetric(handle.type.metrics ?? {}, metric)?.unit
  const tolerances: ToleranceResult[] = tolerancesFor(handle, handle.phase).map((t) => {
    const r = evaluateTolerance(parseTolerance(t), metrics)
    const unit = unitOf(r.metric)
    return unit ? { ...r, unit } : r
  })
  // each reported metric's declared unit, so reports format it as what it is
  const units = Object.fromEntries(Object.keys(metrics).flatMap((k) => (unitOf(k) ? [[k, unitOf(k)!]] : [])))
  const violations = [...(result?.violations ?? [])]
  if (error) violations.push(`probe failed: ${(error as Error).message ?? error}`)
  const inconclusive = [...(result?.inconclusive ?? [])]
  // a tolerance that failed on a figure the probe cannot vouch for is no finding: inconclusive, with why
  const untrustedWhy = (metric: string) => result?.untrusted?.find((u) => u.metrics.includes(metric))?.reason
  const failed = tolerances.filter((t) => !t.ok)
  const failedOnUntrusted = failed.filter((t) => untrustedWhy(t.metric) !== undefined)
  for (const t of failedOnUntrusted) inconclusive.push(`${t.tolerance} failed on a figure that cannot be trusted: ${untrustedWhy(t.metric)}`)
  // a failure is a failure whatever else; a pass that rests on no evidence is not a pass
  const verdict: VerdictKind =
    error || violations.length > 0 || failed.length > failedOnUntrusted.length ? 'fail' : inconclusive.length ? 'inconclusive' : 'pass'
  return host.journal.append({
    type: 'probe.verdict',
    probe: handle.spec.name,
    probeType: handle.spec.probe,
    phase: handle.phase,
    verdict,
    metrics,
    ...(Object.keys(units).length ? { units } : {}),
    tolerances,
    violations,
    ...(verdict === 'inconclusive' ? { inconclusive } : {}),
    ...(result?.series ? { series: result.series } : {}),
    ...(result?.details !== undefined ? { details: result.details as Json } : {}),
    ...(error ? { error: String((error as Error).message ?? error) } : {}),
  }) as EventOf<'probe.verdict'>
}

/** A one-shot probe run: run() (or start → stop for continuous-only probes), judged. */
export async function runOneShot(host: ProbeHost, spec: ProbeSpec, phase: Phase, signal: AbortSignal): Promise<EventOf<'probe.verdict'>> {
  let handle: ProbeHandle | undefined
  try {
    handle = await createProbe(host, spec, phase, signal)
    let result: ProbeResult
    if (handle.probe.run) result = await handle.probe.run()
    else if (handle.probe.start && handle.probe.stop) {
      await handle.probe.start()
      result = await handle.probe.stop()
    } else throw new Error(`probe ${spec.probe} offers neither run() nor start()/stop()`)
    return judge(host, handle, result)
  } catch (err) {
    const type = host.registry.probe(spec.probe)!
    return judge(host, handle ?? { spec, type, probe: {}, phase }, undefined, err)
  } finally {
    // close() releases resources after the verdict is journaled: its error cannot change the verdict
    await handle?.probe.close?.().catch(() => {})
  }
}
