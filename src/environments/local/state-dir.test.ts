/**
 * A state directory is never a deletion target: `env down` touches nothing in a folder without
 * the environment's marker, `env up` refuses a folder it did not make, and what `env down` kills
 * is what the environment recorded starting — still running as recorded — not any process whose
 * command line names the folder.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { GamedayError } from '../../api/errors.ts'
import { waitFor } from '../../util/abort.ts'
import { LocalConfigSchema } from './config.ts'
import { LocalEnvironment } from './environment.ts'
import { isAlive } from './processes.ts'
import { MARKER, readMarker, recordProcess, startTicks, stillRuns } from './state-dir.ts'

const quiet = { info: () => {}, warn: () => {} }
const children: ChildProcess[] = []
const saved = process.env.GAMEDAY_LOCAL_STATE_DIR
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  if (saved === undefined) delete process.env.GAMEDAY_LOCAL_STATE_DIR
  else process.env.GAMEDAY_LOCAL_STATE_DIR = saved
})

/** A process that only sleeps, with these extra arguments on its command line. */
async function sleeper(...args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', ...args], { stdio: 'ignore' })
  children.push(child)
  await waitFor('it to run', async () => isAlive(child.pid), { timeoutMs: 5000, intervalMs: 10 })
  return child
}

function environment(stateDir: string): LocalEnvironment {
  process.env.GAMEDAY_LOCAL_STATE_DIR = stateDir
  const config = LocalConfigSchema.parse({ kind: 'local', clusters: { core: { nodes: [{ name: 'n1', az: 'az-a' }] } } })
  return new LocalEnvironment(config, join(stateDir, '..', 'env.yaml'))
}

/** A folder someone else made: their files, and a process of theirs naming it. */
async function foreignFolder() {
  const dir = join(mkdtempSync(join(tmpdir(), 'gameday-foreign-')), 'work')
  mkdirSync(join(dir, 'nats'), { recursive: true })
  writeFileSync(join(dir, 'notes.txt'), 'mine')
  writeFileSync(join(dir, 'state.json'), '{"not":"gameday"}')
  const theirs = await sleeper(dir)
  return { dir, theirs }
}

describe('the local state directory', () => {
  it('`env down` on a folder without the marker refuses and touches nothing: files and processes stay', async () => {
    const { dir, theirs } = await foreignFolder()
    const err = await environment(dir)
      .down(quiet)
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GamedayError)
    expect((err as Error).message).toMatch(new RegExp(`^${dir} has no ${MARKER}: it is not a gameday environment .*touched nothing`))
    expect(readdirSync(dir).sort()).toEqual(['nats', 'notes.txt', 'state.json'])
    expect(isAlive(theirs.pid)).toBe(true)
  })

  it('`env up` refuses a folder with files it did not make, before starting anything', async () => {
    const { dir } = await foreignFolder()
    const err = await environment(dir)
      .up(quiet)
      .catch((e: unknown) => e)
    expect((err as Error).message).toMatch(new RegExp(`^${dir} is not empty and was not made by gameday \\(no ${MARKER} in it: nats, notes.txt, state.json\\)`))
    expect(readdirSync(dir).sort()).toEqual(['nats', 'notes.txt', 'state.json'])
  })

  it('`env down` kills only the processes it recorded that still run as recorded, and deletes only what `env up` creates', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'gameday-owned-')), 'state')
    mkdirSync(join(dir, 'logs'), { recursive: true })
    writeFileSync(join(dir, MARKER), JSON.stringify({ id: 'test', kind: 'local', createdAt: new Date().toISOString(), source: 'test' }))
    writeFileSync(join(dir, 'logs', 'n1.log'), 'kept')
    writeFileSync(join(dir, 'keep.txt'), 'a file of the user’s')
    mkdirSync(join(dir, 'nats'))
    const ours = await sleeper('ours')
    recordProcess(dir, ours.pid!, [process.execPath, '-e', 'setInterval(() => {}, 1000)', 'ours'])
    // a recorded pid now running something else, and one whose start time is not the recorded one
    const other = await sleeper('other')
    recordProcess(dir, other.pid!, ['nats-server', '-c', join(dir, 'nats', 'n1.conf')])
    const reused = await sleeper('reused')
    writeFileSync(
      join(dir, 'processes.jsonl'),
      JSON.stringify({ pid: reused.pid, argv: [process.execPath, '-e', 'setInterval(() => {}, 1000)', 'reused'], startTicks: startTicks(reused.pid!)! - 1 }) +
        '\n',
      { flag: 'a' },
    )
    const naming = await sleeper(dir) // names the folder, was never recorded
    const warnings: string[] = []
    await environment(dir).down({ info: () => {}, warn: (m) => warnings.push(m) })
    await waitFor('ours to be gone', async () => !isAlive(ours.pid), { timeoutMs: 5000, intervalMs: 20 })
    for (const c of [other, reused, naming]) expect(isAlive(c.pid)).toBe(true)
    expect(warnings.join('\n')).toContain(`${naming.pid}`) // reported, left alone
    expect(readdirSync(dir).sort()).toEqual([MARKER, 'keep.txt', 'logs'])
    expect(readMarker(dir)?.id).toBe('test') // still ours: a second `env down` is quiet
    await environment(dir).down(quiet)
  })

  it('a recorded process is told from a reused pid by its start time and its program', async () => {
    const p = await sleeper('x')
    const argv = [process.execPath, '-e', 'setInterval(() => {}, 1000)', 'x']
    expect(stillRuns({ pid: p.pid!, argv, startTicks: startTicks(p.pid!) })).toBe(true)
    expect(stillRuns({ pid: p.pid!, argv, startTicks: startTicks(p.pid!)! + 7 })).toBe(false)
    expect(stillRuns({ pid: p.pid!, argv: ['redis-server', '--port', '1'], startTicks: startTicks(p.pid!) })).toBe(false)
    p.kill('SIGKILL')
    await waitFor('it to be gone', async () => !isAlive(p.pid), { timeoutMs: 5000, intervalMs: 10 })
    expect(stillRuns({ pid: p.pid!, argv })).toBe(false)
  })

  it('GAMEDAY_LOCAL_STATE_DIR set to the home folder, the repository or / is refused', () => {
    for (const dir of [homedir(), process.cwd(), '/'])
      expect(() => environment(dir)).toThrow(/GAMEDAY_LOCAL_STATE_DIR: .* cannot be a state directory: it (is|holds)/)
  })

  it('`env down` of an environment never brought up does nothing, and says nothing is wrong', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'gameday-never-')), 'state')
    await environment(dir).down(quiet)
    expect(existsSync(dir)).toBe(false)
  })
})
