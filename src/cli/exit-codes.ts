/**
 * What `gameday` exits with, for every command. CI branches on these, so they are the same
 * everywhere and printed by `gameday --help`.
 */
export const EXIT = {
  /** run passed; files valid; history linearizable or durable; recover left nothing behind */
  OK: 0,
  /** a finding: run deviated, validate found problems, check found a violation, env status: not up */
  FINDING: 1,
  /** could not do it: bad input or usage, a guardrail refused, the run aborted or errored */
  ERROR: 2,
  /** no verdict: run inconclusive (a pass on no evidence), check undecided within its budget */
  NO_VERDICT: 3,
  /** a run interrupted three times: faults may be left in place */
  INTERRUPTED: 130,
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

export const EXIT_CODES_HELP = `
Exit codes:
  0    success: run passed, files valid, history linearizable / durable, nothing left to recover
  1    a finding: run deviated (a tolerance failed), validate found problems, check found a
       violation, env status found the environment not up
  2    could not do it: bad input or usage (unknown command or option, invalid value, unreadable
       file), a guardrail refused, the run aborted or errored, recover could not revert everything
  3    no verdict: run inconclusive (a pass resting on no evidence), check undecided in its budget
  130  a run interrupted three times (Ctrl-C): faults may be left, run \`gameday recover RUN_DIR\`

Set GAMEDAY_DEBUG=1 to see the stack trace of an error.`
