/**
 * The one error path of the command line: whatever a command throws becomes what the user
 * reads — the problem on one line (`file:line:col: message` where the place is known), a next
 * step, the exit code — and never a stack trace unless GAMEDAY_DEBUG is set. Loaded only when
 * something went wrong.
 */
import { CommanderError } from 'commander'
import { AbortError, GamedayError, GuardrailError, TargetError, UnsupportedError, ValidationError } from '../api/errors.ts'
import { CliError, type Positioned } from './errors.ts'
import { EXIT } from './exit-codes.ts'
import { relativeToCwd } from './output.ts'

export interface Explanation {
  /** what to print on stderr, line by line */
  lines: string[]
  exitCode: number
}

const ERRNO: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EMFILE: 'too many open files',
  ENOSPC: 'no space left on the device',
}

const HINTS: [new (...a: never[]) => Error, string][] = [
  [GuardrailError, 'nothing was changed; `gameday plan FILE --env E` shows every step and what the guardrails allow'],
  [TargetError, '`gameday plan FILE --env E` shows what each target selector resolves to in that environment'],
  [UnsupportedError, 'this environment cannot do that: use another --env, or leave the step out'],
  [ValidationError, 'fix the input named above; `gameday validate FILE` checks an experiment without running anything'],
]

function formatPositioned(i: Positioned): string {
  return `${relativeToCwd(i.file)}:${i.line}${i.col ? `:${i.col}` : ''}: ${i.message}`
}

function stackOf(err: unknown): string[] {
  const lines: string[] = []
  let e: unknown = err
  for (let depth = 0; e && depth < 5; depth++) {
    lines.push(depth ? `caused by: ${(e as Error).stack ?? String(e)}` : ((e as Error).stack ?? String(e)))
    e = (e as Error).cause
  }
  return lines
}

/** `command` is what ran (`report`, `env up`), to say who speaks */
export function explain(err: unknown, command?: string): Explanation {
  const who = command ? `gameday ${command}` : 'gameday'
  const debug = Boolean(process.env.GAMEDAY_DEBUG)
  const withStack = (e: Explanation): Explanation => (debug ? { ...e, lines: [...e.lines, ...stackOf(err)] } : e)

  // commander printed its own one-line message (and our "see --help" line) already
  if (err instanceof CommanderError) {
    // help asked for, or the version: 0; help shown because something was missing (`gameday env`): a usage error
    const ok = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code) && err.exitCode === 0
    return { lines: [], exitCode: ok ? EXIT.OK : EXIT.ERROR }
  }
  if (err instanceof CliError) {
    const problem = err.issues.length ? err.issues.map(formatPositioned) : [`${who}: ${err.message}`]
    return withStack({ lines: [...problem, ...(err.hint ? [`hint: ${err.hint}`] : [])], exitCode: err.exitCode })
  }
  if (err instanceof AbortError) return withStack({ lines: [`${who}: aborted: ${err.message}`], exitCode: EXIT.ERROR })
  if (err instanceof GamedayError) {
    const issues = err instanceof ValidationError ? err.issues : []
    const problem = issues.length ? issues.map(formatPositioned) : err.message.split('\n').map((l, i) => (i ? l : `${who}: ${l}`))
    const hint = HINTS.find(([type]) => err instanceof type)?.[1]
    return withStack({ lines: [...problem, ...(hint ? [`hint: ${hint}`] : [])], exitCode: EXIT.ERROR })
  }
  const errno = err as NodeJS.ErrnoException
  if (errno && typeof errno.code === 'string' && ERRNO[errno.code]) {
    const path = errno.path ? relativeToCwd(errno.path) : undefined
    return withStack({
      lines: [`${who}: ${path ? `${path}: ` : ''}${ERRNO[errno.code]}`, 'hint: check the path (relative paths are taken from the working directory)'],
      exitCode: EXIT.ERROR,
    })
  }
  // the engine's own mistakes (a property of undefined, a bad call): a bug of ours, said so
  if (err instanceof TypeError || err instanceof ReferenceError || err instanceof RangeError || err instanceof SyntaxError || !(err instanceof Error)) {
    const message = err instanceof Error ? err.message : String(err)
    return withStack({
      lines: [
        `${who}: internal error: ${message.split('\n')[0]}`,
        debug
          ? 'this is a bug in gameday: please report it with the trace below'
          : 'hint: this is a bug in gameday: run again with GAMEDAY_DEBUG=1 to see where, and report it',
      ],
      exitCode: EXIT.ERROR,
    })
  }
  // any other error carries a message meant for a reader (a driver, a client library): show it
  return withStack({
    lines: [...err.message.split('\n').map((l, i) => (i ? l : `${who}: ${l}`)), ...(debug ? [] : ['hint: GAMEDAY_DEBUG=1 shows where it came from'])],
    exitCode: EXIT.ERROR,
  })
}
