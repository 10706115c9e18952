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
 * `--before DIR` also measures another checkout's build (e.g. the previous release) in the same run.
 *
 *     npm run bench:cli [-- --runs 7] [-- --before /path/to/other/checkout]
 */
import { execFileSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { measure, type Scenario } from './whole-process.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined)
const RUNS = Number(arg('--runs') ?? 7)
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
// some of the etcd histories are not linearizable (test/fixtures/linearizability/jepsen-etcd/VERDICTS): exit 1 is the answer
const checkExit = [1]

const node = process.execPath
const gameday = join(root, 'bin/gameday.js')
console.log(
  `node ${process.version}, ${RUNS} runs per line after a warm-up; median whole-process wall time (spawn → exit), CPU time (user + system) and peak RSS\n`,
)

const nodeBaseline = await measure({ name: 'baseline: node -e ""', command: node, args: ['-e', ''] }, RUNS)
const scenarios: Scenario[] = [
  { name: 'node bin/gameday.js --version', command: node, args: [gameday, '--version'] },
  { name: 'node bin/gameday.js --help', command: node, args: [gameday, '--help'], goalMs: 200, expectOutput: /^Exit codes:/m },
  {
    name: `node bin/gameday.js check linearizability (${histories103.length} etcd)`,
    command: node,
    args: [gameday, ...check],
    goalMs: 600,
    expectExit: checkExit,
  },
  { name: 'node bin/gameday.js validate experiments/*.yaml', command: node, args: [gameday, 'validate', ...experiments()] },
]
for (const s of scenarios) await measure(s, RUNS, nodeBaseline)

console.log('')
const npxBaseline = await measure({ name: 'baseline: npx --no node -e ""', command: 'npx', args: ['--no', 'node', '-e', ''], cwd: root }, RUNS)
await measure({ name: 'npx gameday --help', command: 'npx', args: ['--no', 'gameday', '--help'], cwd: root }, RUNS, npxBaseline)
await measure(
  {
    name: `npx gameday check linearizability (${histories103.length} etcd)`,
    command: 'npx',
    args: ['--no', 'gameday', ...check],
    cwd: root,
    expectExit: checkExit,
  },
  RUNS,
  npxBaseline,
)

if (before) {
  console.log(`\nthe same with ${before}/bin/gameday.js (its own build):`)
  const other = join(before, 'bin/gameday.js')
  await measure({ name: 'before: node bin/gameday.js --help', command: node, args: [other, '--help'], goalMs: 200 }, RUNS, nodeBaseline)
  await measure(
    {
      name: `before: node bin/gameday.js check linearizability (${histories103.length})`,
      command: node,
      args: [other, ...check],
      goalMs: 600,
      expectExit: checkExit,
    },
    RUNS,
    nodeBaseline,
  )
}

function experiments(): string[] {
  return readdirSync(join(root, 'experiments'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join('experiments', f))
}
