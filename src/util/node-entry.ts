/**
 * How to start one of our TypeScript entry points as a child process: the compiled file under
 * dist/ when this code itself runs compiled, otherwise the .ts source through tsx's loader.
 * One rule, used for target services, the supervisor daemon and test helpers alike.
 */
import { existsSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const RUNNING_COMPILED = import.meta.url.endsWith('.js')

/**
 * The root of Gameday itself — the repository, or node_modules/gameday in a project that installed
 * it — where its environments, experiments, templates and package.json are. Not the user's project:
 * their files are found from the working directory.
 */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', ...(RUNNING_COMPILED ? ['..'] : []))

export function nodeCommand(entry: string): { command: string; args: string[] } {
  const source = resolve(REPO_ROOT, entry)
  if (RUNNING_COMPILED) {
    const compiled = join(REPO_ROOT, 'dist', relative(REPO_ROOT, source)).replace(/\.ts$/, '.js')
    if (existsSync(compiled)) return { command: process.execPath, args: ['--enable-source-maps', compiled] }
  }
  return { command: process.execPath, args: ['--import', import.meta.resolve('tsx'), source] }
}
