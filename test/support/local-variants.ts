/**
 * The local environment with one service's task environment changed (a broken variant, a switch),
 * written to a file of its own, with a state directory of its own selected for the next run
 * (GAMEDAY_LOCAL_STATE_DIR). Whatever a variant started is killed after each test, and at the
 * end the files go and GAMEDAY_LOCAL_STATE_DIR is what it was. Call at the top of a test file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach } from 'vitest'
import { parse, stringify } from 'yaml'
import { killHard, processesOf } from '../../src/environments/local/processes.ts'
import { REPO_ROOT } from '../../src/util/node-entry.ts'

export interface LocalVariants {
  /** a folder of the test file's own, removed at the end (reports may go there) */
  root: string
  /** the environment file of a variant, its state directory selected for the next run */
  file(name: string, service: string, taskEnv: Record<string, string>): string
  /** the state directory of the last variant made */
  lastStateDir(): string
}

export function localVariants(prefix: string): LocalVariants {
  const root = mkdtempSync(join(tmpdir(), `gameday-${prefix}-`))
  const stateDirs: string[] = []
  const previous = process.env.GAMEDAY_LOCAL_STATE_DIR

  afterEach(async () => {
    for (const dir of stateDirs) for (const pid of processesOf(dir)) await killHard(pid)
  })
  afterAll(() => {
    if (previous === undefined) delete process.env.GAMEDAY_LOCAL_STATE_DIR
    else process.env.GAMEDAY_LOCAL_STATE_DIR = previous
    rmSync(root, { recursive: true, force: true })
  })

  const file = (name: string, service: string, taskEnv: Record<string, string>): string => {
    const env = parse(readFileSync(join(REPO_ROOT, 'environments/local.yaml'), 'utf8'))
    env.services[service].env = { ...env.services[service].env, ...taskEnv }
    const path = join(root, `${name}.yaml`)
    writeFileSync(path, stringify(env))
    const stateDir = join(root, `state-${name}`)
    stateDirs.push(stateDir)
    process.env.GAMEDAY_LOCAL_STATE_DIR = stateDir
    return path
  }
  return { root, file, lastStateDir: () => stateDirs.at(-1)! }
}
