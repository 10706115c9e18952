/**
 * The containers environment (`--env containers`, kind: containers): see environment.ts.
 * Loaded lazily by src/environments/load.ts, so that testcontainers is only imported by runs
 * that use it.
 */
import type { Environment, Logger } from '../../api/environment.ts'
import { ValidationError } from '../../api/errors.ts'
import { formatIssue, YamlSource } from '../../experiment/yaml-source.ts'
import { environmentFile } from '../locate.ts'
import { ContainersConfigSchema, type ContainersConfig } from './config.ts'
import { ContainersEnvironment } from './environment.ts'

export { ContainersEnvironment } from './environment.ts'
export { ContainersConfigSchema, type ContainersConfig } from './config.ts'
export { removeLabelled, creatorGone, dockerClient, LABEL } from './docker.ts'

export function parseContainersConfig(file: string, source: YamlSource): ContainersConfig {
  const parsed = ContainersConfigSchema.safeParse(source.toJS())
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => source.issue(i.path, i.message))
    throw new ValidationError(issues.map(formatIssue).join('\n'), issues)
  }
  return parsed.data
}

export async function loadContainersEnvironment(file: string, source: YamlSource, opts: { envId?: string } = {}): Promise<Environment> {
  return new ContainersEnvironment(parseContainersConfig(file, source), file, opts)
}

const quiet: Logger = { info: () => {}, warn: () => {} }

/**
 * For the benchmark: ms from nothing to a healthy cluster — every node up, full route mesh,
 * a JetStream meta leader — and Redis, in a fresh environment of its own (environments/
 * containers.yaml without its services); then down.
 */
export async function timeContainersUp(): Promise<number> {
  const file = environmentFile('containers')
  const config = parseContainersConfig(file, YamlSource.read(file))
  const env = new ContainersEnvironment({ ...config, services: {} }, file, { envId: `bench-${process.pid}` })
  const t0 = performance.now()
  try {
    await env.up(quiet)
    return performance.now() - t0
  } finally {
    await env.down(quiet)
  }
}
