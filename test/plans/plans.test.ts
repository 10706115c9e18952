/**
 * The plan of every shipped experiment on every environment, compared with the plan recorded in
 * test/plans/golden/. A refactor must not change what a run would do; a change that means to
 * (a new AWS call, a refusal) updates the recording on purpose and shows in review:
 *
 *   GAMEDAY_UPDATE_PLANS=1 npx vitest run --project unit test/plans
 *
 * Local and containers plan against environments that are not up (a state dir and an
 * environment id nobody uses), so live roles show as "resolved at injection"; AWS plans against
 * the mocked account of the AWS tests.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { captureLog, FakeAws, testConfig } from '../aws/support/mocked-account.ts'
import { loadExperiment } from '../../src/experiment/load.ts'
import { defaultRegistry } from '../../src/builtins.ts'
import { planExperiment } from '../../src/engine/plan.ts'
import { loadEnvironment } from '../../src/environments/load.ts'
import { REPO_ROOT } from '../../src/util/node-entry.ts'
import type { Environment } from '../../src/api/environment.ts'

const experiments = readdirSync(join(REPO_ROOT, 'experiments'))
  .filter((f) => f.endsWith('.yaml'))
  .sort()
const GOLDEN = join(REPO_ROOT, 'test', 'plans', 'golden')
const update = process.env.GAMEDAY_UPDATE_PLANS === '1'

const saved: Record<string, string | undefined> = {}
beforeAll(() => {
  for (const k of ['GAMEDAY_LOCAL_STATE_DIR', 'GAMEDAY_CONTAINERS_ENV']) saved[k] = process.env[k]
  process.env.GAMEDAY_LOCAL_STATE_DIR = join(mkdtempSync(join(tmpdir(), 'gameday-plans-')), 'never-up')
  process.env.GAMEDAY_CONTAINERS_ENV = 'plans-never-up'
})
afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
})

/** The plan as text, without what depends on the machine (paths, whether an environment is up). */
function normalise(lines: { depth: number; text: string }[]): string {
  return (
    lines
      .map((l) => `${'  '.repeat(l.depth)}${l.text}`)
      .join('\n')
      .replaceAll(REPO_ROOT, '<repo>')
      .replaceAll(process.env.GAMEDAY_LOCAL_STATE_DIR!, '<state>')
      .replace(/ — not up: `run` starts it/g, '') + '\n'
  )
}

async function planText(file: string, env: Environment): Promise<string> {
  const loaded = await loadExperiment(join(REPO_ROOT, 'experiments', file), defaultRegistry())
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues))
  const { lines, refusals } = await planExperiment(loaded.loaded, env, 1)
  // refusals name files too: the same machine-free form as the plan's lines
  return normalise(lines) + (refusals.length ? `refusals:\n${refusals.map((r) => `  ${r.replaceAll(REPO_ROOT, '<repo>')}\n`).join('')}` : '')
}

function compare(envName: string, file: string, text: string): void {
  const golden = join(GOLDEN, envName, file.replace(/\.yaml$/, '.txt'))
  if (update || !existsSync(golden)) {
    mkdirSync(join(GOLDEN, envName), { recursive: true })
    writeFileSync(golden, text)
    if (!update) throw new Error(`no recorded plan for ${envName}/${file}: recorded it now (${golden}); check it in`)
    return
  }
  expect(text).toBe(readFileSync(golden, 'utf8'))
}

describe.each(['local', 'containers'])('plan --env %s is the recorded plan', (envName) => {
  it.each(experiments)('%s', async (file) => {
    const env = await loadEnvironment(envName)
    try {
      compare(envName, file, await planText(file, env))
    } finally {
      await env.close?.()
    }
  })
})

describe('plan --env aws (mocked account) is the recorded plan', () => {
  it.each(experiments)('%s', async (file) => {
    const aws = new FakeAws()
    try {
      const env = aws.environment(
        testConfig((c) => {
          c.limits.maxInstances = 2
          c.limits.maxTasks = 4
        }),
      )
      await env.up(captureLog())
      compare('aws', file, await planText(file, env))
    } finally {
      aws.restore()
    }
  })
})
