/**
 * vitest globalSetup for the `containers` project: tags every container and network the run
 * creates with one test-run id (gameday.test-run), sweeps leftovers of interrupted earlier runs
 * before, and everything of this run after — also when a test failed or was interrupted.
 *
 *   projects: [{ test: { name: 'containers', globalSetup: ['test/containers/global-setup.ts'], ... } }]
 */
import { randomBytes } from 'node:crypto'
import { sweepTestLeftovers } from './support.ts'

export async function setup(): Promise<() => Promise<void>> {
  const run = (process.env.GAMEDAY_TEST_RUN ??= `run-${process.pid}-${randomBytes(3).toString('hex')}`)
  const swept = await sweepTestLeftovers()
  if (swept.length) process.stderr.write(`containers tests: removed leftovers of interrupted runs: ${swept.join(', ')}\n`)
  return async () => {
    const left = await sweepTestLeftovers(run)
    if (left.length) process.stderr.write(`containers tests: removed what tests left behind: ${left.join(', ')}\n`)
  }
}
