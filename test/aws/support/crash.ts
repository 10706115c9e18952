/**
 * Killing the runner at a chosen point of a fault, then recovering: the end-to-end check that
 * `gameday recover` finishes, from the journal alone, whatever a SIGKILL left behind.
 *
 *   before     the fault's first mutating call reached AWS but took no effect (held, unanswered)
 *   in-flight  a mutating call took effect, and the runner died waiting for its answer
 *   injected   the fault is in effect and journaled as injected
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import { stringify } from 'yaml'
import { waitFor } from '../../../src/util/abort.ts'
import { FakeAccount } from './fake-aws/account.ts'
import type { FakeAwsServer } from './fake-aws/server.ts'
import { defaultRegistry } from '../../../src/builtins.ts'
import { recoverRun } from '../../../src/engine/recover.ts'
import { DUMMY_KEY, fakeEnvironment, gameday, gamedayDone } from './fake-env.ts'
import type { NatsInstances } from './nats-instances.ts'

export type CrashPoint = 'before' | 'in-flight' | 'injected'
export const CRASH_POINTS: CrashPoint[] = ['before', 'in-flight', 'injected']

export interface CrashScenario {
  fault: string
  target?: Record<string, unknown>
  with?: Record<string, unknown>
  /** the first mutating call, held before it takes effect */
  first: string
  /** the mutating call caught in flight, held after it took effect */
  inFlight: string
  /** what recover must say it did, per point */
  says?: Partial<Record<CrashPoint, RegExp>>
}

export interface Harness {
  dir: string
  aws: FakeAwsServer
  envFile: string
  nats: NatsInstances
}

/** A fresh account behind the fake, with the NATS servers all serving. */
export async function resetAccount(h: Harness): Promise<void> {
  await h.nats.restore()
  const account = new FakeAccount({ stepMs: 60, nodes: h.nats.accountNodes() })
  account.hooks = h.nats.hooks(account)
  h.aws.reset(account)
}

function writeExperiment(h: Harness, s: CrashScenario, point: CrashPoint): string {
  const name = `crash-${s.fault.replace(/\./g, '-')}-${point}`
  const file = join(h.dir, `${name}.yaml`)
  const step = {
    name: `${s.fault} then a SIGKILL`,
    fault: s.fault,
    ...(s.target ? { target: s.target } : {}),
    ...(s.with ? { with: s.with } : {}),
    duration: '40s',
  }
  writeFileSync(file, stringify({ name, seed: 7, method: [step], guardrails: [{ maxDuration: '5m' }] }))
  return file
}

const journalOf = (runDir: string) => (existsSync(join(runDir, 'journal.jsonl')) ? readFileSync(join(runDir, 'journal.jsonl'), 'utf8') : '')

/** Runs the scenario's experiment, SIGKILLs the runner at `point`, and returns its run directory. */
export async function runAndKill(h: Harness, s: CrashScenario, point: CrashPoint): Promise<string> {
  const reports = join(h.dir, `reports-${s.fault}-${point}`)
  mkdirSync(reports, { recursive: true })
  const held = point === 'before' ? h.aws.hold(s.first, 'before') : point === 'in-flight' ? h.aws.hold(s.inFlight, 'after') : undefined
  const run = gameday(['run', writeExperiment(h, s, point), '--env', h.envFile, '--yes', '--no-live', '--reports', reports], { cwd: h.dir })
  const runDir = () => {
    const dirs = readdirSync(reports)
    return dirs.length === 1 ? join(reports, dirs[0]) : undefined
  }
  const ended = run.exited.then((code) => {
    throw new Error(`the run ended (${code}) before the ${point} point:\n${run.output()}`)
  })
  const reached = held
    ? held.arrived
    : waitFor(`${s.fault} journaled as injected`, async () => runDir() && /"type":"fault\.injected"/.test(journalOf(runDir()!)), {
        timeoutMs: 60_000,
        intervalMs: 50,
      })
  try {
    await Promise.race([reached, ended])
  } finally {
    run.child.kill('SIGKILL')
    await run.exited
    h.aws.releaseHolds()
  }
  const dir = runDir()
  expect(dir, run.output()).toBeDefined()
  const journal = journalOf(dir!)
  expect(journal).toMatch(/"type":"fault\.injecting"/)
  expect(journal).not.toMatch(/"type":"fault\.reverted"|"type":"run\.ended"/)
  return dir!
}

/** Nothing of the fault left: instances running and serving, services whole, no experiment acting, no template of ours, the cache available. */
export function expectNothingLeft(h: Harness): void {
  const account = h.aws.account
  expect(account.leftovers()).toEqual({ activeExperiments: [], gamedayTemplates: [] })
  expect(account.instances.map((i) => `${i.node} ${i.state}`)).toEqual(h.nats.nodes.map((n) => `${n.node} running`))
  expect(h.nats.allServing()).toBe(true)
  for (const s of account.services) {
    expect(
      s.tasks.map((t) => `${t.lastStatus}/${t.desiredStatus}`),
      s.name,
    ).toEqual(Array(s.desired).fill('RUNNING/RUNNING'))
  }
  expect(account.replicationGroup.status).toBe('available')
  expect(account.templates.has('EXTexisting0001')).toBe(true) // a template gameday does not own is never deleted
}

/**
 * `gameday recover` twice: the first — the command, in its own process — reverts and says what
 * it did; the second (in this process, the same code with a freshly loaded environment, a
 * process start cheaper) finds nothing to do and calls nothing that mutates.
 */
export async function recoverTwice(h: Harness, runDir: string): Promise<{ first: string; second: string }> {
  const first = await gamedayDone(['recover', runDir], { cwd: h.dir })
  expect(first.code, first.output).toBe(0)
  expect(first.output).toMatch(/recover: 1 reverted, 0 failed/)
  expect(first.output).not.toMatch(/nothing known to heal|not been discovered/)
  expectNothingLeft(h)
  // nothing but the fake was ever called, and only with the dummy key (the run's calls and recover's)
  expect(new Set(h.aws.calls.map((c) => c.accessKeyId))).toEqual(new Set([DUMMY_KEY]))
  h.aws.clearCalls()
  const env = await fakeEnvironment(h.envFile, h.aws.endpoint)
  const lines: string[] = []
  const log = { info: (m: string) => void lines.push(m), warn: (m: string) => void lines.push(m) }
  try {
    expect(await recoverRun(runDir, env, defaultRegistry(), log)).toEqual({ reverted: 0, failed: 0 })
  } finally {
    await env.close()
  }
  expect(lines.join('\n')).toMatch(/nothing to recover: every fault of .* was reverted/)
  expect(h.aws.mutatingCalls()).toEqual([])
  return { first: first.output, second: lines.join('\n') }
}
