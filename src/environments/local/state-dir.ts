/**
 * The local environment's state directory, and the rule that keeps it from ever being a
 * deletion target: Gameday deletes and kills only what it provably created.
 *
 * - `env up` claims the folder: a new or empty one (or one holding only the logs of an earlier
 *   run) gets a marker file with an id; a folder with anything else in it and no marker is refused.
 * - Every process the environment starts is recorded in a ledger (processes.jsonl): pid, command
 *   line, start time. `env down` kills only recorded processes still running that same command
 *   (the pid was not reused), and deletes only the entries it creates, never the folder's other files.
 * - `env down` on a folder without the marker touches nothing; the filesystem root, the home
 *   directory, the repository, the working directory and their ancestors are refused outright.
 */
import { randomUUID } from 'node:crypto'
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, join, resolve, sep } from 'node:path'
import { GamedayError } from '../../api/errors.ts'
import { REPO_ROOT } from '../../util/node-entry.ts'

export const MARKER = '.gameday-environment'
const LEDGER = 'processes.jsonl'
/** what `env up` creates in the folder, and so all `env down` may delete (logs and the marker stay) */
export const CREATED_ENTRIES = ['state.json', 'pids', 'nats', 'redis', 'pki', LEDGER]

export interface Marker {
  id: string
  /** the environment kind whose state it holds (a containers environment keeps its CA on the host) */
  kind: 'local' | 'containers'
  createdAt: string
  /** the environment file that made it */
  source: string
}

/** Why a folder can never be a state directory, or undefined when it can. */
export function unsafeStateDir(dir: string): string | undefined {
  const target = resolve(dir)
  const precious: [string, string][] = [
    [resolve('/'), 'the filesystem root'],
    [homedir(), 'your home directory'],
    [REPO_ROOT, 'the repository'],
    [process.cwd(), 'the working directory'],
  ]
  for (const [path, what] of precious) {
    if (target === path) return `it is ${what}`
    if (path.startsWith(target.endsWith(sep) ? target : target + sep)) return `it holds ${what} (${path})`
  }
  return undefined
}

export function checkStateDir(dir: string, origin: string): void {
  const why = unsafeStateDir(dir)
  if (why)
    throw new GamedayError(
      `${origin}: ${dir} cannot be a state directory: ${why}, and \`env down\` deletes what it created there. Use a folder of its own, e.g. .gameday/local`,
    )
}

export function readMarker(dir: string): Marker | undefined {
  try {
    const marker = JSON.parse(readFileSync(join(dir, MARKER), 'utf8')) as Marker
    return typeof marker.id === 'string' ? marker : undefined
  } catch {
    return undefined // absent or not ours: the caller refuses
  }
}

/** For `env up`: the folder is ours (marked), or made ours when new or empty; anything else is refused. */
export function claimStateDir(dir: string, source: string, kind: Marker['kind'] = 'local'): Marker {
  const existing = readMarker(dir)
  if (existing) return existing
  if (existsSync(dir)) {
    const foreign = readdirSync(dir).filter((e) => e !== 'logs')
    if (foreign.length)
      throw new GamedayError(
        `${dir} is not empty and was not made by gameday (no ${MARKER} in it: ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', …' : ''}): ` +
          'gameday only deletes what it created, so it will not use this folder. Choose a new or empty stateDir (or GAMEDAY_LOCAL_STATE_DIR)',
      )
  }
  mkdirSync(dir, { recursive: true })
  const marker: Marker = { id: randomUUID(), kind, createdAt: new Date().toISOString(), source }
  writeFileSync(join(dir, MARKER), JSON.stringify(marker, null, 2) + '\n')
  return marker
}

/** For `env down`: refuses a folder that exists but is not marked as ours; false when there is nothing at all. */
export function ownsStateDir(dir: string): boolean {
  if (!existsSync(dir)) return false
  if (readMarker(dir)) return true
  throw new GamedayError(
    `${dir} has no ${MARKER}: it is not a gameday environment (or not one this gameday made), so \`env down\` touched nothing in it. ` +
      'Stop what runs there yourself, or point --env / GAMEDAY_LOCAL_STATE_DIR at the environment you meant',
  )
}

/** Deletes what `env up` created; the logs and the marker stay. */
export function clearStateDir(dir: string): void {
  for (const entry of CREATED_ENTRIES) rmSync(join(dir, entry), { recursive: true, force: true })
}

// ---- the ledger of processes ---------------------------------------------------------------

export interface StartedProcess {
  pid: number
  /** the command line it was started with */
  argv: string[]
  /** its start time in clock ticks after boot (/proc/<pid>/stat), so a reused pid is told apart */
  startTicks?: number
}

/** When a process started, in clock ticks after boot; undefined when it is gone. */
export function startTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])
  } catch {
    return undefined // gone (or not ours to read): nothing to tell apart
  }
}

export const ledgerFile = (stateDir: string) => join(stateDir, LEDGER)

/** Records a process the environment started, before anything else can go wrong. */
export function recordProcess(stateDir: string, pid: number, argv: string[]): void {
  const entry: StartedProcess = { pid, argv, startTicks: startTicks(pid) }
  appendFileSync(ledgerFile(stateDir), JSON.stringify(entry) + '\n')
}

export function recordedProcesses(stateDir: string): StartedProcess[] {
  if (!existsSync(ledgerFile(stateDir))) return []
  return readFileSync(ledgerFile(stateDir), 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as StartedProcess]
      } catch {
        return [] // a line cut short by a crash: that process was never started
      }
    })
}

/**
 * Whether a recorded process still runs: the same pid started at the same moment (a reused pid
 * starts later), running the recorded command — its command line as recorded, or at least the
 * same program (redis-server rewrites its title; a launcher script execs the real interpreter).
 */
export function stillRuns(p: StartedProcess): boolean {
  try {
    const cmdline = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
    const program = basename((cmdline[0] ?? '').split(' ')[0])
    if (cmdline.join('\0') !== p.argv.join('\0') && program !== basename(p.argv[0] ?? '')) return false
    return p.startTicks === undefined || startTicks(p.pid) === p.startTicks
  } catch {
    return false // no such process
  }
}

/** The recorded processes still running as recorded: what `env down` may kill. */
export function liveRecordedProcesses(stateDir: string): StartedProcess[] {
  return recordedProcesses(stateDir).filter(stillRuns)
}
