/**
 * bin/gameday.js, as a process: it runs the build when the build is current (or is all there is),
 * the sources otherwise — never a stale build — and a failure is one line and a hint, exit 2.
 */
import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../util/node-entry.ts'

const work = mkdtempSync(join(tmpdir(), 'gameday-launcher-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

function run(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, cwd: work }, (error, out, err) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out, err }),
    )
  })
}

/** a checkout in miniature: the real launcher, a "build" and "sources" that say which one ran */
function fakeCheckout(name: string): { root: string; touch: (file: string, secondsAgo: number) => void } {
  const root = join(work, name)
  cpSync(join(REPO_ROOT, 'bin'), join(root, 'bin'), { recursive: true })
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'))
  mkdirSync(join(root, 'dist/src/cli'), { recursive: true })
  mkdirSync(join(root, 'src/cli'), { recursive: true })
  writeFileSync(join(root, 'package.json'), '{"type":"module"}')
  writeFileSync(join(root, 'dist/src/cli/main.js'), "console.log('ran the build')\n")
  writeFileSync(join(root, 'src/cli/main.ts'), "const from: string = 'the sources'\nconsole.log(`ran ${from}`)\n")
  const touch = (file: string, secondsAgo: number) => {
    const t = new Date(Date.now() - secondsAgo * 1000)
    utimesSync(join(root, file), t, t)
  }
  return { root, touch }
}

describe('bin/gameday.js', () => {
  it('runs the build when it is newer than every source, the sources when one changed since', async () => {
    const { root, touch } = fakeCheckout('checkout')
    const bin = join(root, 'bin/gameday.js')
    touch('src/cli/main.ts', 60)
    touch('dist/src/cli/main.js', 10)
    expect((await run(bin, [])).out).toBe('ran the build\n')
    touch('src/cli/main.ts', 1) // edited after the build: the build is stale
    expect((await run(bin, [])).out).toBe('ran the sources\n')
    touch('src/cli/main.ts', 60)
    expect((await run(bin, [], { GAMEDAY_FROM_SOURCE: '1' })).out).toBe('ran the sources\n')
    const { buildState } = (await import(pathToFileURL(join(REPO_ROOT, 'bin/build-freshness.js')).href)) as { buildState(root: string): string }
    expect(buildState(root)).toBe('fresh')
    rmSync(join(root, 'dist'), { recursive: true })
    expect(buildState(root)).toBe('missing')
    expect((await run(bin, [])).out).toBe('ran the sources\n')
  })

  it('installed (no sources): runs the build; with neither, says the copy is incomplete (exit 2)', async () => {
    const { root } = fakeCheckout('installed')
    rmSync(join(root, 'src'), { recursive: true })
    const bin = join(root, 'bin/gameday.js')
    expect((await run(bin, [])).out).toBe('ran the build\n')
    rmSync(join(root, 'dist'), { recursive: true })
    const r = await run(bin, [])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/is missing: this copy of gameday is incomplete\nhint: /)
  })

  it('the real command line: an unknown command with --help is one line and a hint, exit 2, no stack trace', async () => {
    const r = await run(join(REPO_ROOT, 'bin/gameday.js'), ['frobnicate', '--help'], { GAMEDAY_FROM_SOURCE: '1' })
    expect(r.code).toBe(2)
    expect(r.out).toBe('')
    expect(r.err).toBe('gameday: unknown command "frobnicate"\nhint: `gameday --help` lists the commands\n')
  })
})

describe('a reader that goes away', () => {
  it('`gameday list | head -1`: the pipe closed after the first line is no crash, no stack trace, exit 0', async () => {
    const bin = join(REPO_ROOT, 'bin', 'gameday.js')
    const script = `"${process.execPath}" "${bin}" list 2>"${work}/list.err" | head -1 >/dev/null; echo "\${PIPESTATUS[0]}"; cat "${work}/list.err"`
    const out = await new Promise<string>((resolve) => execFile('bash', ['-c', script], { cwd: work }, (_e, stdout) => resolve(stdout)))
    expect(out).toBe('0\n')
  }, 30_000)
})
