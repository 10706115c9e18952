/**
 * Writes the JSON Schemas editors use (yaml-language-server) from the zod schemas that
 * `gameday validate` uses, so the two cannot disagree: experiments/schema.json and
 * experiments/steady-state.schema.json. `npm run schema`; a test checks they are current.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { experimentJsonSchema, steadyStateJsonSchema } from '../src/experiment/json-schema.ts'
import { REPO_ROOT } from '../src/util/node-entry.ts'

for (const [file, schema] of [
  ['experiments/schema.json', experimentJsonSchema()],
  ['experiments/steady-state.schema.json', steadyStateJsonSchema()],
] as const) {
  writeFileSync(join(REPO_ROOT, file), JSON.stringify(schema, null, 2) + '\n')
  console.log(`wrote ${file}`)
}
