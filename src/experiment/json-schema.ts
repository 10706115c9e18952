/** JSON Schema for editors, generated from the zod schemas (`npm run schema`). */
import { z } from 'zod'
import { ExperimentSchema, SteadyStateSchema } from './schema.ts'

function toJson(schema: z.ZodType, title: string): Record<string, unknown> {
  // "input": what a human writes (defaults are optional), not what validation produces
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', title, ...json }
}

export const experimentJsonSchema = () => toJson(ExperimentSchema, 'Gameday experiment')
export const steadyStateJsonSchema = () => toJson(SteadyStateSchema, 'Gameday steady-state hypothesis')
