import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { experimentJsonSchema, steadyStateJsonSchema } from './json-schema.ts'
import { REPO_ROOT } from '../util/node-entry.ts'

describe('the JSON Schemas for editors', () => {
  it('are current with the zod schemas (run `npm run schema` after changing them)', () => {
    expect(JSON.parse(readFileSync(join(REPO_ROOT, 'experiments/schema.json'), 'utf8'))).toEqual(experimentJsonSchema())
    expect(JSON.parse(readFileSync(join(REPO_ROOT, 'experiments/steady-state.schema.json'), 'utf8'))).toEqual(steadyStateJsonSchema())
  })

  it('describe steps, selectors and guardrails', () => {
    const text = JSON.stringify(experimentJsonSchema())
    for (const word of ['jetstream-meta-leader', 'parallel', 'repeat', 'abortWhen', 'maxDuration', 'during']) expect(text).toContain(word)
  })
})
