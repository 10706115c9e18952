/**
 * The command line as a function: argv in, exit code out. Only the command that runs is
 * imported (see commands/index.ts), so `gameday --help` loads commander and nothing else of
 * ours, and every failure leaves through one door (explain.ts).
 */
import { Command, CommanderError } from 'commander'
import { COMMANDS } from './commands/index.ts'
import { exitCodeOf } from './command.ts'
import { CliError } from './errors.ts'
import { EXIT, EXIT_CODES_HELP } from './exit-codes.ts'
import { GAMEDAY_VERSION } from '../version.ts'

const TOP_LEVEL_FLAGS = new Set(['-h', '--help', '-V', '--version'])

/** the close names, for "did you mean" (edit distance at most 2, or a prefix) */
export function similar(word: string, candidates: string[]): string[] {
  const distance = (a: string, b: string) => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j)
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0]
      row[0] = i
      for (let j = 1; j <= b.length; j++) {
        const here = row[j]
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
        prev = here
      }
    }
    return row[b.length]
  }
  return candidates.filter((c) => distance(word, c) <= 2 || (word.length >= 2 && c.startsWith(word)))
}

function unknownCommand(name: string, known: string[], under = 'gameday'): CliError {
  const close = similar(name, known)
  const hint = `${close.length ? `did you mean ${close.map((c) => `\`${under} ${c}\``).join(' or ')}? ` : ''}\`${under} --help\` lists the commands`
  return new CliError(`unknown command ${JSON.stringify(name)}`, { hint })
}

/** commander's own errors (unknown option, missing argument, bad value) say who speaks and what next, like ours */
function labelErrors(cmd: Command, path: string): void {
  cmd
    .configureOutput({ outputError: (message, write) => write(message.replace(/^error: /, `${path}: `)) })
    .showHelpAfterError(`hint: \`${path} --help\` shows its usage`)
  for (const sub of cmd.commands) labelErrors(sub, `${path} ${sub.name()}`)
}

function program(): Command {
  return (
    new Command('gameday')
      .description('Chaos and resilience game days for NATS-based backends')
      .version(GAMEDAY_VERSION)
      .addHelpText('after', EXIT_CODES_HELP)
      .exitOverride()
      // `gameday help run` is `gameday run --help` (dispatch rewrites it)
      .helpCommand(false)
  )
}

/**
 * A command with subcommands (env, check) given an operand that is none of them: name it, even
 * with --help (commander would print the group's help and exit 0).
 */
function checkSubcommand(cmd: Command, args: string[], path: string): void {
  if (!cmd.commands.length) return
  const operand = args.find((a) => !a.startsWith('-'))
  if (operand === undefined || operand === 'help') return
  const names = cmd.commands.flatMap((c) => [c.name(), ...c.aliases()])
  const sub = cmd.commands.find((c) => c.name() === operand || c.aliases().includes(operand))
  if (!sub) throw unknownCommand(operand, names, path)
  checkSubcommand(sub, args.slice(args.indexOf(operand) + 1), `${path} ${operand}`)
}

async function dispatch(argv: string[]): Promise<{ prog: Command }> {
  const prog = program()
  let args = argv
  // `gameday help [command]`
  if (args[0] === 'help') args = args.length > 1 ? [...args.slice(1), '--help'] : ['--help']
  const at = args.findIndex((a) => !a.startsWith('-'))
  const misplaced = args.slice(0, at < 0 ? args.length : at).find((a) => !TOP_LEVEL_FLAGS.has(a))
  if (misplaced && at >= 0) {
    throw new CliError(`unknown option ${JSON.stringify(misplaced)} before the command`, {
      hint: 'options go after the command they belong to, e.g. `gameday plan FILE --env local`',
    })
  }
  const name = at < 0 ? undefined : args[at]
  const entry = name === undefined ? undefined : COMMANDS.find((c) => c.name === name)
  if (name !== undefined && !entry) {
    throw unknownCommand(
      name,
      COMMANDS.map((c) => c.name),
    )
  }
  if (!entry) {
    // top-level help, --version, or nothing at all (usage: help on stderr, exit 2)
    for (const c of COMMANDS) prog.command(c.name).description(c.summary)
    labelErrors(prog, 'gameday')
    if (!args.length) {
      prog.outputHelp({ error: true })
      throw new CommanderError(EXIT.ERROR, 'gameday.noCommand', 'no command given')
    }
    await prog.parseAsync(args, { from: 'user' })
    return { prog }
  }
  const cmd = prog.command(entry.name).description(entry.summary)
  ;(await entry.load()).define(cmd)
  labelErrors(prog, 'gameday')
  checkSubcommand(cmd, args.slice(args.indexOf(entry.name) + 1), `gameday ${entry.name}`)
  await prog.parseAsync(args, { from: 'user' })
  return { prog }
}

/** Runs one command line; never throws, never exits: the caller exits with what it returns. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    const { prog } = await dispatch(argv)
    return exitCodeOf(prog)
  } catch (err) {
    const first = argv.find((a) => !a.startsWith('-'))
    const { explain } = await import('./explain.ts')
    const { lines, exitCode } = explain(err, COMMANDS.some((c) => c.name === first) ? first : undefined)
    for (const line of lines) process.stderr.write(line + '\n')
    return exitCode
  }
}
