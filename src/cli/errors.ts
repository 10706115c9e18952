/**
 * The error a command throws when it cannot go on: one sentence saying what is wrong, a next step,
 * and the exit code. Commands throw; src/cli/explain.ts turns it (and anything else thrown) into
 * what the user reads.
 */
import { GamedayError } from '../api/errors.ts'
import { EXIT, type ExitCode } from './exit-codes.ts'

/** a problem at a place in a file; printed as `file:line:col: message` */
export interface Positioned {
  file: string
  line: number
  col?: number
  message: string
}

export interface CliErrorOptions extends ErrorOptions {
  /** what to do about it, e.g. "pass --env local|containers|aws|FILE" */
  hint?: string
  exitCode?: ExitCode
  /** printed instead of the message when there are any: one line each */
  issues?: Positioned[]
}

export class CliError extends GamedayError {
  override name = 'CliError'
  readonly hint?: string
  readonly exitCode: ExitCode
  readonly issues: Positioned[]
  constructor(message: string, { hint, exitCode = EXIT.ERROR, issues = [], ...options }: CliErrorOptions = {}) {
    super(message, options)
    this.hint = hint
    this.exitCode = exitCode
    this.issues = issues
  }
}
