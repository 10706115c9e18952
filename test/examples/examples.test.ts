/**
 * Every experiment of every example project loads: examples are copied by users as they are, so
 * a rule added to the loader (an include outside the experiment's folder tree, say) must not
 * leave one of them broken without a test saying so.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defaultRegistry } from '../../src/builtins.ts'
import { loadExperiment } from '../../src/experiment/load.ts'
import { REPO_ROOT } from '../../src/util/node-entry.ts'

const EXAMPLES = join(REPO_ROOT, 'examples')
const experiments = readdirSync(EXAMPLES).flatMap((example) =>
  readdirSync(join(EXAMPLES, example, 'experiments'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join('examples', example, 'experiments', f)),
)

describe('the example projects', () => {
  it('have experiments', () => expect(experiments.length).toBeGreaterThan(0))
  it.each(experiments)('%s loads', async (file) => {
    const loaded = await loadExperiment(join(REPO_ROOT, file), defaultRegistry())
    expect(loaded.ok ? [] : loaded.issues).toEqual([])
  })
})
