/**
 * Isolation and cleanup for the container tests. Each test file gets its own environment id
 * (`test-<pid>-<random>`), so its containers and network never meet a user's `gameday` one;
 * everything a test makes is found again by label and removed, whatever happened to the test:
 *   - afterAll: the file's environment goes down and its labels are swept;
 *   - a reaper process (reaper.ts) removes them once the test process dies, however it dies
 *     (Ctrl-C on vitest skips afterAll and global teardown alike);
 *   - beforeAll and the global teardown: leftovers of test environments whose creating process
 *     is dead (an interrupted run) and of this vitest run are swept.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ContainersEnvironment } from '../../src/environments/containers/environment.ts'
import { ContainersConfigSchema } from '../../src/environments/containers/config.ts'
import { creatorGone, dockerClient, LABEL, removeLabelled } from '../../src/environments/containers/docker.ts'
import { YamlSource } from '../../src/experiment/yaml-source.ts'
import { REPO_ROOT } from '../../src/util/node-entry.ts'
import type { Logger } from '../../src/api/environment.ts'

export const TEST_PREFIX = 'test-'

let reaper: ChildProcess | undefined

/**
 * A fresh environment id for a test, `test-<pid>-<random>`; the first call starts the reaper
 * that removes this process's test environments once it dies, however it dies.
 */
export function testEnvId(): string {
  reaper ??= spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/containers/reaper.ts'), String(process.pid)], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: 'ignore',
  })
  reaper.unref()
  return `${TEST_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`
}

export const quiet: Logger = { info: () => {}, warn: (m) => process.stderr.write(`${m}\n`) }

export function shippedConfig() {
  const file = join(REPO_ROOT, 'environments/containers.yaml')
  return { file, config: ContainersConfigSchema.parse(YamlSource.read(file).toJS()) }
}

/** The shipped environment file's topology under a test id. */
export function testEnvironment(envId = testEnvId()): ContainersEnvironment {
  const { file, config } = shippedConfig()
  return new ContainersEnvironment(config, file, { envId })
}

/** Names of the containers and networks still labelled with this environment id. */
export async function leftovers(envId: string): Promise<{ containers: string[]; networks: string[] }> {
  const { docker } = await dockerClient()
  const label = [`${LABEL.env}=${envId}`]
  const containers = await docker.listContainers({ all: true, filters: { label } })
  const networks = await docker.listNetworks({ filters: { label } })
  return { containers: containers.map((c) => c.Names[0]), networks: networks.map((n) => n.Name) }
}

export async function sweepEnv(envId: string): Promise<void> {
  const { docker } = await dockerClient()
  await removeLabelled(docker, (l) => l[LABEL.env] === envId)
}

/**
 * Leftovers of test environments: of a dead creating process (an interrupted earlier run), or
 * of the given vitest run. A user's environments (ids not starting with `test-`) are never touched.
 */
export async function sweepTestLeftovers(testRun?: string): Promise<string[]> {
  const { docker } = await dockerClient()
  const labelled = [
    ...(await docker.listContainers({ all: true, filters: { label: [LABEL.env] } })).map((c) => c.Labels),
    ...(await docker.listNetworks({ filters: { label: [LABEL.env] } })).map((n) => n.Labels ?? {}),
  ]
  const stale = new Set<string>()
  for (const labels of labelled) {
    const id = labels[LABEL.env]
    if (!id?.startsWith(TEST_PREFIX)) continue
    if (creatorGone(labels) || (testRun && labels[LABEL.testRun] === testRun)) stale.add(id)
  }
  for (const id of stale) await removeLabelled(docker, (l) => l[LABEL.env] === id)
  return [...stale]
}

/** A JSON file, parsed. */
export const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T
