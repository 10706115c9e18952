/**
 * Cleanup is by label alone, so it works after the process that started an environment died:
 * `down()` from any other process, and the tests' sweep of environments whose creator is gone.
 */
import { spawn } from 'node:child_process'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../src/util/node-entry.ts'
import { creatorGone, LABEL } from '../../src/environments/containers/docker.ts'
import { waitFor } from '../../src/util/abort.ts'
import { leftovers, quiet, sweepEnv, sweepTestLeftovers, testEnvId, testEnvironment } from './support.ts'

const ids: string[] = []
afterAll(async () => {
  for (const id of ids) await sweepEnv(id)
})

/** Starts `up()` in another process and SIGKILLs it once some of its containers exist. */
async function crashHalfway(envId: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/containers/up-child.ts'), envId], { cwd: REPO_ROOT, stdio: 'ignore' })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  try {
    await waitFor('the child to start containers', async () => (await leftovers(envId)).containers.length >= 3, { timeoutMs: 60_000, intervalMs: 50 })
  } finally {
    child.kill('SIGKILL')
    await exited
  }
}

describe('cleanup by label', () => {
  it('tells the leftovers of a dead process from those of a live one', () => {
    expect(creatorGone({ [LABEL.creator]: `${hostname()}:${process.pid}` })).toBe(false)
    expect(creatorGone({ [LABEL.creator]: `${hostname()}:2147483646` })).toBe(true)
    expect(creatorGone({ [LABEL.creator]: `some-other-host:2147483646` })).toBe(false)
    expect(creatorGone({})).toBe(false)
  })

  it('after the process running up() was killed: down() from another process removes every container and the network', async () => {
    const envId = testEnvId()
    ids.push(envId)
    await crashHalfway(envId)
    const left = await leftovers(envId)
    expect(left.containers.length).toBeGreaterThan(0)
    expect(left.networks).toEqual([`gameday-${envId}-net`])
    await testEnvironment(envId).down(quiet)
    expect(await leftovers(envId)).toEqual({ containers: [], networks: [] })
  })

  it('the tests’ sweep removes test environments whose creator died, and only those', async () => {
    const envId = testEnvId()
    ids.push(envId)
    await crashHalfway(envId)
    expect((await leftovers(envId)).containers.length).toBeGreaterThan(0)
    const swept = await sweepTestLeftovers()
    expect(swept).toContain(envId)
    expect(await leftovers(envId)).toEqual({ containers: [], networks: [] })
  })
})
