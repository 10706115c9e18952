/**
 * The mutation table stays true to the tree: every shipped experiment has its row, every
 * variant it names exists in the target (or is marked pending, and then must not exist yet),
 * every service it breaks exists, and the README shows every pair. Fast: nothing runs here —
 * test/e2e/detection.local.test.ts runs the pairs marked `ci`, `npm run mutants` all of them.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { MUTANT_TABLE } from '../../bench/mutant-table.ts'
import { BROKEN_VARIANTS } from '../../target/lib/env.ts'
import { REPO_ROOT } from '../../src/util/node-entry.ts'

const shipped = readdirSync(join(REPO_ROOT, 'experiments'))
  .filter((f) => f.endsWith('.yaml'))
  .sort()
const pairs = MUTANT_TABLE.flatMap((row) => row.pairs.map((p) => ({ ...p, experiment: row.experiment })))

describe('the mutation table', () => {
  it('has one row per shipped experiment; a pending one is marked ready as soon as it ships', () => {
    expect(
      MUTANT_TABLE.filter((r) => !r.pending || shipped.includes(r.experiment))
        .map((r) => r.experiment)
        .sort(),
    ).toEqual(shipped)
    for (const row of MUTANT_TABLE.filter((r) => r.pending))
      expect(shipped, `${row.experiment} now ships: drop \`pending\` from its row`).not.toContain(row.experiment)
  })

  it('names only variants the target has; a pending one is marked ready as soon as it exists', () => {
    for (const p of pairs) {
      const exists = (BROKEN_VARIANTS as readonly string[]).includes(p.variant)
      if (p.pending) expect(exists, `${p.variant} now exists in target/lib/env.ts: drop \`pending\` from its pair with ${p.experiment}`).toBe(false)
      else expect(exists, `${p.experiment}: no variant ${p.variant} in target/lib/env.ts`).toBe(true)
    }
  })

  it('breaks only services the local environment runs', () => {
    const services = Object.keys((parse(readFileSync(join(REPO_ROOT, 'environments/local.yaml'), 'utf8')) as { services: object }).services)
    for (const p of pairs) for (const s of p.services) expect(services, `${p.experiment}: ${p.variant} on ${s}`).toContain(s)
  })

  it('says why a row has no pair to run', () => {
    for (const row of MUTANT_TABLE) if (!row.pending && (!row.pairs.some((p) => !p.pending) || !row.local)) expect(row.note, row.experiment).toBeTruthy()
  })

  it('is shown in the README, pair by pair', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('## Mutation testing'))
    expect(section.length, 'README.md has a "## Mutation testing" section').toBeGreaterThan(20)
    const rows = section.split('\n').filter((l) => l.startsWith('| '))
    for (const p of pairs) {
      const row = rows.find((l) => l.startsWith(`| ${p.experiment.replace('.yaml', '')} |`) && l.includes(`\`${p.variant}\``))
      expect(row, `README.md's mutation table has no row for ${p.experiment} × ${p.variant}`).toBeDefined()
    }
  })

  it('keeps CI to the pairs that matter most: the misses this table was made to close', () => {
    expect(pairs.filter((p) => p.ci).map((p) => `${p.experiment} × ${p.variant}`)).toEqual([
      'gateway-rolling-drain.yaml × no-drain',
      'nats-node-kill.yaml × no-reconnect',
    ])
  })
})
