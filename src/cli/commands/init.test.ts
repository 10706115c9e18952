/**
 * `gameday init` in an empty folder writes a starting environment and experiment that validate and
 * plan as they are; it never overwrites a file, and asks nothing off a terminal.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { waitFor } from '../../util/abort.ts'
import { REPO_ROOT } from '../../util/node-entry.ts'
import { runCli } from '../cli.ts'
import { initFiles } from './init.ts'

const work = mkdtempSync(join(tmpdir(), 'gameday-init-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

async function gameday(cwd: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const before = process.cwd()
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true))
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true))
  process.chdir(cwd)
  try {
    return { code: await runCli(argv), out, err }
  } finally {
    process.chdir(before)
    vi.restoreAllMocks()
  }
}

/** `gameday init` on a terminal (util-linux `script` gives it one): answers are typed once each question shows */
function onTerminal(dir: string) {
  const command = `${process.execPath} ${join(REPO_ROOT, 'bin/gameday.js')} init ${dir}`
  const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, GAMEDAY_FROM_SOURCE: '1' }, stdio: ['pipe', 'pipe', 'pipe'] })
  let screen = ''
  child.stdout.on('data', (d) => (screen += d))
  child.stderr.on('data', (d) => (screen += d))
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    exit,
    screen: () => screen,
    async answer(when: RegExp, text: string) {
      // readline moves the cursor with escape sequences: match what the user sees
      const seen = () => screen.replace(new RegExp(String.raw`${String.fromCharCode(27)}\[[0-9;]*[A-Za-z]`, 'g'), '')
      await waitFor(`the terminal to show ${when}`, async () => when.test(seen()), { timeoutMs: 20_000, intervalMs: 20 })
      child.stdin.write(text)
    },
  }
}

describe('gameday init', () => {
  const project = join(work, 'studio')
  mkdirSync(project)
  // a repository root: finding environments/local.yaml upwards stops here
  mkdirSync(join(project, '.git'))

  it('writes a commented environment and experiment, without asking (not a terminal)', async () => {
    const r = await gameday(project, 'init')
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/^wrote environments\/local\.yaml$/m)
    expect(r.out).toMatch(/^wrote experiments\/first-gameday\.yaml$/m)
    expect(r.out).toMatch(/npx gameday run experiments\/first-gameday\.yaml/)
    const env = readFileSync(join(project, 'environments/local.yaml'), 'utf8')
    expect(env).toMatch(/^kind: local$/m)
    expect(env.match(/^ {6}- \{ name: n\d, az: az-[abc] \}$/gm)).toHaveLength(3)
    expect(env.split('\n').filter((l) => l.trimStart().startsWith('#')).length).toBeGreaterThan(15)
    expect(readFileSync(join(project, 'experiments/first-gameday.yaml'), 'utf8')).toMatch(/^name: first-gameday$/m)
  })

  it('what it wrote validates, and plans against it from any folder of the project', async () => {
    const v = await gameday(project, 'validate', 'experiments/first-gameday.yaml')
    expect(v.code, v.err).toBe(0)
    const deep = join(project, 'services', 'orders')
    mkdirSync(deep, { recursive: true })
    const p = await gameday(deep, 'plan', '../../experiments/first-gameday.yaml')
    expect(p.code, p.err).toBe(0)
    expect(p.out).toContain(`environment local (${join(project, 'environments/local.yaml')})`)
    expect(p.out).toMatch(/would: kill NATS node n\d/)
  })

  it('never overwrites: a second init keeps both files (exit 2: nothing written), --name adds an experiment', async () => {
    const env = join(project, 'environments/local.yaml')
    writeFileSync(env, readFileSync(env, 'utf8') + '# mine\n')
    const again = await gameday(project, 'init')
    expect(again.code).toBe(2)
    expect(again.out).toMatch(/^kept environments\/local\.yaml: it exists/m)
    expect(again.err).toMatch(/nothing written: both files exist/)
    expect(readFileSync(env, 'utf8')).toMatch(/# mine\n$/)
    const named = await gameday(project, 'init', '--name', 'orders-under-kill', '--nodes', '5')
    expect(named.code, named.err).toBe(0)
    expect(named.out).toMatch(/^kept environments\/local\.yaml/m)
    expect(existsSync(join(project, 'experiments/orders-under-kill.yaml'))).toBe(true)
    expect(readFileSync(env, 'utf8')).toMatch(/# mine\n$/)
  })

  it('refuses a cluster that cannot lose a node, and a name that cannot be a file name', async () => {
    for (const args of [
      ['--nodes', '1'],
      ['--nodes', 'three'],
      ['--name', '../escape'],
    ]) {
      const r = await gameday(work, 'init', join(work, 'refused'), ...args)
      expect(r.code).toBe(2)
      expect(r.err).toMatch(/is invalid/)
    }
    expect(existsSync(join(work, 'refused'))).toBe(false)
  })

  it('points the editor at the schema shipped with gameday, relative to the experiment', () => {
    const [, experiment] = initFiles(join(work, 'elsewhere'), { name: 'x', nodes: 3, seed: 7 })
    const schema = /\$schema=(\S+)/.exec(experiment.text)![1]
    expect(existsSync(join(work, 'elsewhere', 'experiments', schema))).toBe(true)
    expect(experiment.text).toMatch(/^seed: 7 /m)
  })

  it.skipIf(!existsSync('/usr/bin/script'))(
    'on a terminal it asks, re-asks after a bad answer, and takes the answers',
    async () => {
      const dir = join(work, 'asked')
      const tty = onTerminal(dir)
      await tty.answer(/Name of the first experiment \[first-gameday\]: $/, 'Bad_Name\r')
      await tty.answer(/a name is lower-case[^]*Name of the first experiment \[first-gameday\]: $/, 'orders-kill\r')
      await tty.answer(/NATS nodes in the local cluster \[3\]: $/, '5\r')
      expect(await tty.exit, tty.screen()).toBe(0)
      expect(readFileSync(join(dir, 'environments/local.yaml'), 'utf8').match(/^ {6}- \{ name: n\d/gm)).toHaveLength(5)
      expect(existsSync(join(dir, 'experiments/orders-kill.yaml'))).toBe(true)
    },
    60_000,
  )

  it.skipIf(!existsSync('/usr/bin/script'))(
    'on a terminal, Ctrl-D at a question writes nothing (exit 2)',
    async () => {
      const dir = join(work, 'abandoned')
      const tty = onTerminal(dir)
      await tty.answer(/Name of the first experiment \[first-gameday\]: $/, '\x04')
      expect(await tty.exit, tty.screen()).toBe(2)
      expect(tty.screen()).toMatch(/no answer: nothing was written/)
      expect(existsSync(dir)).toBe(false)
    },
    60_000,
  )
})
