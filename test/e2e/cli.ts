/** Running the real `gameday` CLI as a child process, as a user would, against an isolated state directory. */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT } from '../../src/util/node-entry.ts'

export interface CliRun {
  child: ChildProcess
  output: () => string
  exit: Promise<number | null>
}

export function sandbox(): { stateDir: string; reportsDir: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-e2e-'))
  return { dir, stateDir: join(dir, 'state'), reportsDir: join(dir, 'reports') }
}

export function gameday(args: string[], stateDir: string): CliRun {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/gameday.js'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, GAMEDAY_LOCAL_STATE_DIR: stateDir, GAMEDAY_FROM_SOURCE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, output: () => out, exit }
}
