/**
 * The experiment format. An experiment is environment-agnostic: it names logical things
 * (cluster, AZ, service, cache), never hosts. This schema is the single source of truth:
 * `validate` uses it, and `npm run schema` writes experiments/schema.json from it for editors.
 */
import { z } from 'zod'
import { Duration } from '../api/duration.ts'
import { TargetSelectorSchema } from '../api/selector.ts'
import { TOLERANCE_PATTERN } from './tolerance.ts'
import { MAX_REPEAT_TIMES } from './limits.ts'
import type { Step } from './steps.ts'

// Checked against the probe's declared metrics at validate (tolerance.ts), with a message that
// says what is wrong; the pattern is for editors.
const Tolerance = z.string().min(1).meta({ pattern: TOLERANCE_PATTERN.source }).describe('a tolerance like "successRate >= 99.9%", "p99 < 50ms" or "lost == 0"')
const Tolerances = z.union([Tolerance, z.array(Tolerance)]).describe('conditions on the probe metrics; all must hold')

export const ProbeSpecSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes')
      .describe('unique within the experiment'),
    probe: z.string().describe('probe type, e.g. request-slo, nats-cluster-health, or a custom one'),
    with: z.record(z.string(), z.unknown()).default({}).describe('the probe parameters'),
    tolerance: Tolerances.optional().describe('must hold before and after the method'),
    during: Tolerances.optional().describe('if set, the probe also runs through the method and must meet these'),
  })
  .describe('a probe with its tolerances')

export type ProbeSpec = z.infer<typeof ProbeSpecSchema>

export const StepBase = {
  name: z.string().optional().describe('shown in progress output and reports'),
  timeout: Duration.optional().describe('the step fails (and the run errors) past this; faults are still reverted'),
}

export const FaultStepSchema = z
  .strictObject({
    ...StepBase,
    fault: z.string().describe('fault type, e.g. nats.kill-node, network.partition, redis.throttle'),
    target: TargetSelectorSchema.default({}),
    with: z.record(z.string(), z.unknown()).default({}).describe('the fault parameters'),
    duration: Duration.optional().describe('revert after this long; without it the fault holds until the method ends'),
  })
  .describe('inject a fault')

export const WaitStepSchema = z.strictObject({ ...StepBase, wait: Duration }).describe('pause')

export const ProbeStepSchema = z.strictObject({ ...StepBase, probe: ProbeSpecSchema }).describe('run a one-shot probe')

/** A step as written, for the editors' JSON Schema only: loading parses steps by kind (steps.ts). */
type StepShape =
  | z.input<typeof FaultStepSchema>
  | z.input<typeof WaitStepSchema>
  | z.input<typeof ProbeStepSchema>
  | { name?: string; timeout?: string | number; parallel: StepShape[] }
  | { name?: string; timeout?: string | number; sequence: StepShape[] }
  | { name?: string; timeout?: string | number; repeat: { times: number; every?: string | number; steps: StepShape[] } }

export const StepSchema: z.ZodType<unknown, StepShape> = z.lazy(() =>
  z.union([
    FaultStepSchema,
    WaitStepSchema,
    ProbeStepSchema,
    z.strictObject({ ...StepBase, parallel: z.array(StepSchema).min(1) }).describe('run these steps at the same time'),
    z.strictObject({ ...StepBase, sequence: z.array(StepSchema).min(1) }).describe('run these steps one after another'),
    z
      .strictObject({
        ...StepBase,
        repeat: z.strictObject({
          times: z.int().positive().max(MAX_REPEAT_TIMES),
          every: Duration.optional().describe('pause between rounds'),
          steps: z.array(StepSchema).min(1),
        }),
      })
      .describe('run these steps several times'),
  ]),
)

export const ProbeGuardrailSchema = z.strictObject({
  probe: z.string().describe('name of a probe running through the method'),
  abortWhen: Tolerance.describe('abort the run as soon as this holds on the live figures'),
  after: Duration.optional().describe('ignore the first moments of the probe (warm-up)'),
})
export const MaxDurationGuardrailSchema = z.strictObject({ maxDuration: Duration.describe('abort the run past this wall-clock time') })
export const AlarmGuardrailSchema = z.strictObject({ alarm: z.string().describe('a CloudWatch alarm name or ARN: abort when it fires (aws)') })

export const GuardrailSchema = z.union([ProbeGuardrailSchema, MaxDurationGuardrailSchema, AlarmGuardrailSchema]).describe('an abort condition')

export const ExperimentSchema = z
  .strictObject({
    name: z.string().min(1),
    description: z.string().default(''),
    tags: z.array(z.string()).default([]),
    seed: z.int().nonnegative().max(4_294_967_295).optional().describe('fixes every random pick; --seed overrides'),
    extensions: z.array(z.string()).default([]).describe('modules (paths relative to this file) exporting custom probes and faults'),
    steadyState: z
      .strictObject({
        include: z.array(z.string()).default([]).describe('steady-state hypotheses from steady-state/<name>.yaml'),
        probes: z.array(ProbeSpecSchema).default([]),
      })
      .default({ include: [], probes: [] }),
    load: z.array(ProbeSpecSchema).default([]).describe('probes that run through the whole method (background load)'),
    method: z.array(StepSchema).min(1),
    guardrails: z.array(GuardrailSchema).default([]),
  })
  .describe('a Gameday experiment')

/** An experiment as loaded: the method as the tagged union of steps.ts, durations in ms. */
export type Experiment = Omit<z.infer<typeof ExperimentSchema>, 'method'> & { method: Step[] }
export type Guardrail = z.infer<typeof GuardrailSchema>

export const SteadyStateSchema = z
  .strictObject({
    name: z.string().min(1),
    description: z.string().default(''),
    probes: z.array(ProbeSpecSchema).min(1),
  })
  .describe('a reusable steady-state hypothesis')

export type SteadyState = z.infer<typeof SteadyStateSchema>
