/**
 * The shape of a command: a module under src/cli/commands/ exporting `define`, and one line in
 * src/cli/commands/index.ts naming it. The module is imported only when its command runs (or
 * its own --help is asked for), so it may import whatever its action needs; `gameday --help`
 * and the other commands never pay for it.
 */
import type { Command } from 'commander'
import type { ExitCode } from './exit-codes.ts'

export interface CommandEntry {
  name: string
  /** one line for `gameday --help` */
  summary: string
  load: () => Promise<CommandModule>
}

export interface CommandModule {
  /**
   * Adds the command's arguments, options, subcommands and action to `cmd` (already named and
   * described). Wrap the action with `onRun` so its exit code reaches the process.
   */
  define(cmd: Command): void
}

const exitCodes = new WeakMap<Command, number>()

function rootOf(cmd: Command): Command {
  let c = cmd
  while (c.parent) c = c.parent
  return c
}

/**
 * Sets `run` as the command's action. Its result is the exit code (nothing = 0); throw a
 * CliError (or any error) to stop with one line and a next step.
 */
export function onRun<Args extends unknown[]>(cmd: Command, run: (...args: Args) => Promise<ExitCode | void> | ExitCode | void): Command {
  return cmd.action(async (...args: unknown[]) => {
    exitCodes.set(rootOf(cmd), (await run(...(args as Args))) ?? 0)
  })
}

/** the exit code the action that ran under `program` asked for */
export function exitCodeOf(program: Command): number {
  return exitCodes.get(program) ?? 0
}
