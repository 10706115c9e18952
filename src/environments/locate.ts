/**
 * Where an environment file is: `--env local` (the default), `--env containers`, `--env aws` name
 * environments/<name>.yaml — yours first, looked for in the working directory and the folders
 * above it up to the repository's root (so any folder of your project finds it), then Gameday's
 * own; anything else is a path, relative to the working directory.
 */
import { existsSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { REPO_ROOT } from '../util/node-entry.ts'

export const NAMED_ENVIRONMENTS: Record<string, string> = {
  local: 'environments/local.yaml',
  containers: 'environments/containers.yaml',
  aws: 'environments/aws.yaml',
}

/** `relativePath` in `from` or the nearest folder above it that has it, stopping at a repository's root */
function findUpwards(relativePath: string, from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, relativePath)
    if (existsSync(candidate)) return candidate
    if (existsSync(join(dir, '.git')) || dirname(dir) === dir) return undefined
  }
}

export function environmentFile(nameOrFile: string, cwd: string = process.cwd()): string {
  const named = Object.hasOwn(NAMED_ENVIRONMENTS, nameOrFile) ? NAMED_ENVIRONMENTS[nameOrFile] : undefined
  if (named) return findUpwards(named, cwd) ?? resolve(REPO_ROOT, named)
  return resolve(cwd, nameOrFile)
}

/**
 * The command that brings up the environment read from `file`, for "not up" messages: `--env
 * <name>` for a named environment found where `--env <name>` finds it, else the file's path
 * (relative to the working directory when under it).
 */
export function envUpCommand(file: string, cwd: string = process.cwd()): string {
  for (const name of Object.keys(NAMED_ENVIRONMENTS)) {
    if (environmentFile(name, cwd) === resolve(file)) return name === 'local' ? 'gameday env up' : `gameday env up --env ${name}`
  }
  const rel = relative(cwd, resolve(file))
  return `gameday env up --env ${rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : resolve(file)}`
}
