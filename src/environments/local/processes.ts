/**
 * OS processes of the local environment: started detached (their own process group, so a
 * terminal's Ctrl-C reaches only gameday, which then reverts and tears down in order) with a pid
 * file the faults signal; signals and waits. What `env down` may kill is decided by the ledger of
 * started processes (state-dir.ts), never by a pid file or a command line alone.
 */
import { spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { sleep } from '../../util/abort.ts'

export interface DetachedSpec {
  command: string
  args: string[]
  logFile: string
  pidFile: string
  env?: NodeJS.ProcessEnv
  cwd?: string
}

export function spawnDetached(spec: DetachedSpec): number {
  const log = openSync(spec.logFile, 'a')
  try {
    const child = spawn(spec.command, spec.args, {
      detached: true,
      stdio: ['ignore', log, log],
      env: spec.env ?? process.env,
      cwd: spec.cwd,
    })
    if (child.pid === undefined) throw new Error(`cannot start ${spec.command}`)
    child.unref()
    writeFileSync(spec.pidFile, String(child.pid))
    return child.pid
  } finally {
    closeSync(log)
  }
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

/** Alive and not a zombie; when `expect` is given, its command line must contain it (pid reuse guard). */
export function isAlive(pid: number | undefined, expect?: string): boolean {
  if (!pid) return false
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    if (state === 'Z' || state === 'X') return false
    if (expect) return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(expect)
  } catch {
    return false
  }
  return true
}

/** T = stopped by SIGSTOP */
export function isStopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T'
  } catch {
    return false
  }
}

export function signal(pid: number | undefined, sig: NodeJS.Signals): boolean {
  if (!pid) return false
  try {
    process.kill(pid, sig)
    return true
  } catch {
    return false
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true
    await sleep(25)
  }
  return !isAlive(pid)
}

/** SIGTERM, then SIGKILL after the grace period; resolves once the process is gone. */
export async function terminate(pid: number | undefined, graceMs: number): Promise<void> {
  if (!pid || !isAlive(pid)) return
  signal(pid, 'SIGCONT') // a paused process cannot handle SIGTERM
  signal(pid, 'SIGTERM')
  if (await waitForExit(pid, graceMs)) return
  signal(pid, 'SIGKILL')
  await waitForExit(pid, 5000)
}

export async function killHard(pid: number | undefined): Promise<void> {
  if (!pid || !isAlive(pid)) return
  signal(pid, 'SIGKILL')
  await waitForExit(pid, 5000)
}

/**
 * Every live process that seems to belong to an environment: its command line names the state
 * directory (nats-server configs, the supervisor) or its environment carries GAMEDAY_STATE_DIR
 * (tasks). An observation only — what tests check is empty after a run, and what `env down`
 * reports as strays — never a list of processes to kill: anyone may name a path.
 */
export function processesOf(stateDir: string): number[] {
  const found: number[] = []
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return found
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    const pid = Number(entry)
    if (pid === process.pid) continue
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      const environ = cmdline.includes(stateDir) ? '' : readFileSync(`/proc/${pid}/environ`, 'utf8')
      if ((cmdline.includes(stateDir) || environ.includes(`GAMEDAY_STATE_DIR=${stateDir}\0`)) && isAlive(pid)) found.push(pid)
    } catch {
      // gone, or not ours to read
    }
  }
  return found
}
