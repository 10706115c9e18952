/**
 * Gameday as a dependency of someone else's repository, from `npm pack`: the tarball carries the
 * build, its types and what it refers to, and no tests; installed into an empty project, `npx
 * gameday` inits, validates, plans and runs that project's own experiment against its own
 * environment file (a 3-node NATS cluster on loopback), from any of its folders; a vitest test
 * there uses gameday/vitest, and TypeScript sees the package's types.
 *
 * Heavy (a build, nats-server processes): its own vitest project, `npx vitest run --project package`.
 */
import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../src/util/node-entry.ts'
import { cleanEnv, installProject } from './install.ts'

const work = mkdtempSync(join(tmpdir(), 'gameday-package-'))
const studio = join(work, 'studio')
let packed: { filename: string; size: number; unpackedSize: number; files: { path: string }[] }

interface Result {
  code: number
  /** stdout and stderr */
  out: string
  stdout: string
}

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve) => {
    // npx as a user types it, but never fetching a package that is not installed
    execFile(cmd, args, { cwd, env: cleanEnv({ npm_config_yes: 'false', ...env }), maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}`, stdout }),
    )
  })
}

const gameday = (args: string[], cwd = studio) => sh('npx', ['gameday', ...args], cwd)

/** a copy of this checkout without its build, its generated code or its runs, for `npm pack` to build from scratch */
function stage(): string {
  const dir = join(work, 'checkout')
  const skip = new Set(['node_modules', 'dist', 'gen', '.git', '.gameday', 'reports', '.scratch', '.vitest-cache'])
  cpSync(REPO_ROOT, dir, { recursive: true, filter: (src) => !skip.has(relative(REPO_ROOT, src).split('/')[0]) })
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'))
  return dir
}

beforeAll(async () => {
  const checkout = stage()
  const pack = await sh('npm', ['pack', '--json', '--pack-destination', work], checkout) // prepack: the build
  expect(pack.code, pack.out).toBe(0)
  packed = (JSON.parse(pack.stdout) as (typeof packed)[])[0]
  console.log(
    `npm pack: ${packed.filename}, ${(packed.size / 1024).toFixed(0)} kB packed, ${(packed.unpackedSize / 1024).toFixed(0)} kB unpacked, ${packed.files.length} files`,
  )
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> }
  const version = (name: string) => lock.packages[`node_modules/${name}`].version
  installProject({
    repo: REPO_ROOT,
    tarball: join(work, packed.filename),
    dir: studio,
    devDependencies: { vitest: version('vitest'), typescript: version('typescript'), '@types/node': version('@types/node') },
  })
}, 600_000)

afterAll(async () => {
  // whatever a failed run left up: the environment file is the project's own
  if (existsSync(join(studio, 'environments/local.yaml'))) await gameday(['env', 'down'])
  rmSync(work, { recursive: true, force: true })
}, 120_000)

describe('the packed package', () => {
  it('carries the build with its types, the generated code and what the shipped files refer to; no tests, no sources', () => {
    const files = packed.files.map((f) => f.path)
    for (const f of [
      'bin/gameday.js',
      'dist/src/cli/main.js',
      'dist/src/api/index.js',
      'dist/src/api/index.d.ts',
      'dist/src/vitest/index.d.ts',
      'dist/gen/gameday/v1/player_state_pb.js',
      'dist/plugins/index.js',
      'dist/target/gateway.js',
      'environments/local.yaml',
      'experiments/nats-node-kill.yaml',
      'experiments/schema.json',
      'steady-state/gateway-slo.yaml',
      'templates/init/local.yaml',
      'templates/init/experiment.yaml',
    ]) {
      expect(files, f).toContain(f)
    }
    expect(files.filter((f) => /\.test\.|test-support|^test\/|testing\//.test(f))).toEqual([])
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([])
  })
})

describe('in a project that installed it', () => {
  it('npx gameday --help works (it crashed with ERR_MODULE_NOT_FOUND …/player_state_pb.ts)', async () => {
    const r = await gameday(['--help'])
    expect(r.code, r.out).toBe(0)
    expect(r.out).toMatch(/^Exit codes:/m)
  })

  it('init writes the project’s environment and first experiment; validate and plan take them, from any folder', async () => {
    const init = await gameday(['init'])
    expect(init.code, init.out).toBe(0)
    expect(readFileSync(join(studio, 'experiments/first-gameday.yaml'), 'utf8')).toMatch(/\$schema=\.\.\/node_modules\/gameday\/experiments\/schema\.json/)
    expect(existsSync(join(studio, 'node_modules/gameday/experiments/schema.json'))).toBe(true)

    const validate = await gameday(['validate', 'experiments/first-gameday.yaml'])
    expect(validate.code, validate.out).toBe(0)
    const deep = join(studio, 'services', 'orders')
    mkdirSync(deep, { recursive: true })
    for (const [cwd, args] of [
      [studio, ['plan', 'experiments/first-gameday.yaml', '--env', 'environments/local.yaml']],
      [deep, ['plan', '../../experiments/first-gameday.yaml']], // --env local: found up the folders
      [deep, ['plan', join(studio, 'experiments/first-gameday.yaml'), '--env', '../../environments/local.yaml']],
    ] as const) {
      const plan = await gameday([...args], cwd)
      expect(plan.code, plan.out).toBe(0)
      expect(plan.out).toContain(`environment local (${join(studio, 'environments/local.yaml')})`)
      expect(plan.out).toMatch(/would: kill NATS node n\d/)
    }
  })

  it('run: the project’s experiment against its environment file passes, reports in its own reports/', async () => {
    const run = await gameday(['run', 'experiments/first-gameday.yaml', '--no-live'])
    expect(run.code, run.out).toBe(0)
    const [runId] = readdirSync(join(studio, 'reports'))
    const result = JSON.parse(readFileSync(join(studio, 'reports', runId, 'result.json'), 'utf8')) as { status: string; faults: { type: string }[] }
    expect(result.status).toBe('passed')
    expect(result.faults.map((f) => f.type)).toEqual(['nats.kill-node'])
  }, 180_000)

  it('a vitest test of the project runs an experiment with its own probe through gameday/vitest; TypeScript checks it against the package’s types', async () => {
    mkdirSync(join(studio, 'probes'))
    writeFileSync(
      join(studio, 'probes/backlog.ts'),
      [
        "import { z } from 'zod'",
        "import { defineProbe } from 'gameday'",
        '',
        'export const probes = [',
        '  defineProbe({',
        "    type: 'backlog',",
        "    description: 'messages waiting in our queue (a stand-in)',",
        '    params: z.object({ pending: z.number() }),',
        "    metrics: { pending: { unit: 'count', description: 'messages waiting' } },",
        "    defaultTolerance: ['pending < 100'],",
        '    create: (_ctx, p) => ({ run: async () => ({ metrics: { pending: p.pending } }) }),',
        '  }),',
        ']',
        '',
      ].join('\n'),
    )
    writeFileSync(
      join(studio, 'experiments/smoke.yaml'),
      [
        'name: smoke',
        'extensions: [../probes/backlog.ts]',
        'steadyState:',
        '  probes:',
        '    - { name: cluster, probe: nats-cluster-health, with: { cluster: core }, tolerance: ["healthy == true"] }',
        '    - { name: queue, probe: backlog, with: { pending: 3 }, tolerance: ["pending < 10"] }',
        'method:',
        '  - wait: 500ms',
        '',
      ].join('\n'),
    )
    mkdirSync(join(studio, 'test'))
    writeFileSync(
      join(studio, 'test/gameday.test.ts'),
      [
        "import { expect, test } from 'vitest'",
        "import { runExperiment } from 'gameday/vitest'",
        '',
        "test('the cluster and our queue hold their steady state', async () => {",
        "  const result = await runExperiment('experiments/smoke.yaml', { env: 'environments/local.yaml' })",
        '  expect(result).toHoldSteadyState()',
        "  expect(result.probe('queue')).toMeet({ pending: '< 10' })",
        '}, 120_000)',
        '',
      ].join('\n'),
    )
    const vitest = await sh('npx', ['vitest', 'run'], studio)
    expect(vitest.code, vitest.out).toBe(0)
    expect(vitest.out).toMatch(/1 passed/)

    writeFileSync(
      join(studio, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: ['node'] },
        include: ['probes', 'test'],
      }),
    )
    const tsc = await sh('npx', ['tsc', '--project', '.'], studio)
    expect(tsc.code, tsc.out).toBe(0)
    // the types are real, not `any`: a misspelt parameter does not compile
    writeFileSync(
      join(studio, 'probes/broken.ts'),
      readFileSync(join(studio, 'probes/backlog.ts'), 'utf8').replace('pending: p.pending }', 'pending: p.pendnig }'),
    )
    const broken = await sh('npx', ['tsc', '--project', '.'], studio)
    expect(broken.code).not.toBe(0)
    expect(broken.out).toMatch(/probes\/broken\.ts\(\d+,\d+\): error TS\d+: Property 'pendnig' does not exist/)
  }, 180_000)
})
