/**
 * The containers environment (`--env containers`, kind: containers): see environment.ts.
 * Loaded lazily through ../kinds.ts, so that testcontainers is only imported by runs that use it.
 */
import type { Environment } from '../../api/environment.ts'
import type { ContainersConfig } from './config.ts'
import { ContainersEnvironment } from './environment.ts'

export { ContainersEnvironment } from './environment.ts'
export { ContainersConfigSchema, type ContainersConfig } from './config.ts'
export { removeLabelled, creatorGone, dockerClient, LABEL } from './docker.ts'

export function createContainersEnvironment(file: string, config: ContainersConfig, opts: { envId?: string } = {}): Environment {
  return new ContainersEnvironment(config, file, opts)
}
