/**
 * Where an environment file is: `--env local` (the default), `--env containers`, `--env aws` name
 * the files under environments/ (the working directory's first, then Gameday's own); anything
 * else is a path.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { REPO_ROOT } from '../util/node-entry.ts'

export const NAMED_ENVIRONMENTS: Record<string, string> = {
  local: 'environments/local.yaml',
  containers: 'environments/containers.yaml',
  aws: 'environments/aws.yaml',
}

export function environmentFile(nameOrFile: string): string {
  if (NAMED_ENVIRONMENTS[nameOrFile]) {
    const inCwd = resolve(NAMED_ENVIRONMENTS[nameOrFile])
    return existsSync(inCwd) ? inCwd : resolve(REPO_ROOT, NAMED_ENVIRONMENTS[nameOrFile])
  }
  return resolve(nameOrFile)
}
