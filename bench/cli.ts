/**
 * npm run bench:cli — the commands users run, as whole processes (`node bin/gameday.js …` and
 * `npx gameday …`, start-up included), next to their goals and to baselines measured in this run:
 *
 *   gameday --help                                           goal < 200 ms
 *   gameday check linearizability --model cas-register       goal < 600 ms
 *     over 103 etcd-sized histories: the 50 Jepsen etcd histories of test/fixtures given
 *     twice, and the first three a third time (Porcupine's corpus has 103 of this kind)
 *
 * Baselines: `node -e ""` (Node's own start-up) and `npx node -e ""` (npx's). The compiled
 * build is what an installed package runs: it is built first unless dist/ is up to date.
 * `--before DIR` also measures another checkout's build (e.g. the previous release) in the same
 * run, interleaved with these.
 *
 *     npm run bench:cli [-- --runs 11] [-- --before /path/to/other/checkout]
 */
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { measureTogether, type Scenario } from './whole-process.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined)
const RUNS = Number(arg('--runs') ?? 11)
const before = arg('--before')

const { buildState } = (await import(pathToFileURL(join(root, 'bin/build-freshness.js')).href)) as { buildState(root: string): string }
if (buildState(root) !== 'fresh') {
  console.log(`dist/ is ${buildState(root)}: npm run build …`)
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' })
}

const etcdDir = join(root, 'test/fixtures/linearizability/jepsen-etcd')
const etcd = readdirSync(etcdDir)
  .filter((f) => f.endsWith('.log'))
  .sort()
  .map((f) => join(etcdDir, f))
const histories103 = [...etcd, ...etcd, ...etcd.slice(0, 3)]
const check = ['check', 'linearizability', '--model', 'cas-register', ...histories103]
// some etcd histories are not linearizable (test/fixtures/linearizability/jepsen-etcd/VERDICTS): exit 1 is the right answer
const checkExit = [1]
const experiments = readdirSync(join(root, 'experiments'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => join('experiments', f))

const node = process.execPath
const NODE = 'baseline: node -e ""'
const NPX = 'baseline: npx node -e "" (in the project)'
const launcher = (dir: string) => join(dir, 'bin/gameday.js')
// A project with gameday installed, as `npm install` lays it out — node_modules/gameday holding
// bin/, package.json and the build (linked to this checkout's) but no sources, so the launcher has
// no freshness to check — and npx as users type it there, never fetching a package (`npx --no
// gameday --help` would be npx's own help). In this repository itself npx finds no
// node_modules/.bin/gameday and loads npm's whole dependency tree first: not what users meet.
const npxEnv = { ...process.env, npm_config_yes: 'false' }
const project = mkdtempSync(join(tmpdir(), 'gameday-bench-project-'))
process.on('exit', () => rmSync(project, { recursive: true, force: true }))
const installed = join(project, 'node_modules/gameday')
mkdirSync(join(project, 'node_modules/.bin'), { recursive: true })
cpSync(join(root, 'bin'), join(installed, 'bin'), { recursive: true })
cpSync(join(root, 'package.json'), join(installed, 'package.json'))
symlinkSync(join(root, 'dist'), join(installed, 'dist'))
symlinkSync('../gameday/bin/gameday.js', join(project, 'node_modules/.bin/gameday'))
writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'studio', private: true, devDependencies: { gameday: '*' } }))
const help = /^Exit codes:/m

const scenarios: (Scenario & { baseline?: string })[] = [
  { name: NODE, command: node, args: ['-e', ''] },
  { name: 'node bin/gameday.js --version', command: node, args: [launcher(root), '--version'], baseline: NODE },
  { name: 'node bin/gameday.js --help', command: node, args: [launcher(root), '--help'], goalMs: 200, expectOutput: help, baseline: NODE },
  {
    name: `node bin/gameday.js check linearizability (${histories103.length} etcd)`,
    command: node,
    args: [launcher(root), ...check],
    goalMs: 600,
    expectExit: checkExit,
    baseline: NODE,
  },
  { name: 'node bin/gameday.js validate experiments/*.yaml', command: node, args: [launcher(root), 'validate', ...experiments], baseline: NODE },
  {
    name: 'installed: node node_modules/.bin/gameday --help',
    command: node,
    args: [launcher(installed), '--help'],
    goalMs: 200,
    expectOutput: help,
    baseline: NODE,
  },
  { name: NPX, command: 'npx', args: ['node', '-e', ''], cwd: project, env: npxEnv },
  { name: 'installed: npx gameday --help', command: 'npx', args: ['gameday', '--help'], cwd: project, env: npxEnv, expectOutput: help, baseline: NPX },
  {
    name: `installed: npx gameday check linearizability (${histories103.length} etcd)`,
    command: 'npx',
    args: ['gameday', ...check],
    cwd: project,
    env: npxEnv,
    expectExit: checkExit,
    baseline: NPX,
  },
]
if (before) {
  scenarios.push(
    { name: 'before: node bin/gameday.js --help', command: node, args: [launcher(before), '--help'], goalMs: 200, baseline: NODE },
    {
      name: `before: node bin/gameday.js check linearizability (${histories103.length})`,
      command: node,
      args: [launcher(before), ...check],
      goalMs: 600,
      expectExit: checkExit,
      baseline: NODE,
    },
  )
}

console.log(
  `node ${process.version}, ${RUNS} runs per line, interleaved, after a warm-up: median whole-process wall time (spawn → exit), CPU time (user + system), peak RSS`,
)
if (before) console.log(`before: ${before} (its own build)`)
console.log('')
await measureTogether(scenarios, RUNS)
