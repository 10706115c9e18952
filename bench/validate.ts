/**
 * Validation benchmark: figures, never assertions.
 *
 *     npm run bench:validate            (tsx bench/validate.ts [--runs 3])
 *
 * Each scenario runs in a fresh process that times loadExperiment alone — CPU and wall — and
 * reports the process's peak RSS, so figures compare with the baseline measured in the same
 * run: the same process validating a shipped experiment. Twice: on the compiled build, which
 * is what an installed package runs (built first unless dist/ is up to date), and from the
 * sources through tsx (`node --import tsx bench/validate.ts --child FILE`), whose loader adds
 * ~30 MB to every process. Scenarios: a generated 5 MB experiment (target: < 2 s and < 200 MB),
 * and the same with one error at its end (a problem needs a position: it is looked up in the
 * chunk that holds it, so the error case should cost about what the success case does).
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { loadExperiment } from '../src/experiment/load.ts'
import { defaultRegistry } from '../src/builtins.ts'

const root = fileURLToPath(new URL('..', import.meta.url))

if (process.argv[2] === '--child') {
  const registry = defaultRegistry()
  const cpu = process.cpuUsage()
  const started = performance.now()
  const r = await loadExperiment(process.argv[3], registry)
  const wall = performance.now() - started
  const used = process.cpuUsage(cpu)
  const issues = r.ok ? 0 : r.issues.length
  console.log(`# stats wall=${wall.toFixed(0)} cpu=${((used.user + used.system) / 1000).toFixed(0)} maxRSS=${process.resourceUsage().maxRSS} issues=${issues}`)
  process.exit(0)
}

/** An experiment of about `bytes`: steps of every kind, probes, as a large game day might be written. */
export function generateExperiment(bytes: number, brokenAtEnd = false): string {
  const out = [
    'name: big',
    'description: a generated experiment',
    'steadyState:',
    '  probes:',
    '    - { name: health, probe: nats-cluster-health, tolerance: "healthy == true" }',
    'load:',
    '  - { name: live, probe: request-slo, with: { rate: 50 }, tolerance: ["successRate >= 99%", "p99 < 2s"] }',
    'method:',
  ]
  let size = out.join('\n').length
  for (let i = 0; size < bytes; i++) {
    const block = [
      `  - name: step ${i} waits a little`,
      `    wait: ${(i % 50) + 1}ms`,
      `  - fault: nats.kill-node`,
      `    target: { cluster: core, nodes: [n1, n2], count: 1 }`,
      `    duration: 1s`,
      `  - parallel:`,
      `      - wait: 1ms`,
      `      - sequence: [ { wait: 2ms }, { wait: 3ms } ]`,
    ].join('\n')
    out.push(block)
    size += block.length + 1
  }
  if (brokenAtEnd) out.push('  - wait: soon')
  out.push('guardrails:', '  - { probe: live, abortWhen: "successRate < 50%" }', '  - { maxDuration: 24h }')
  return out.join('\n') + '\n'
}

interface Figures {
  wall: number
  cpu: number
  rssMB: number
  issues: number
}

/** The same child on the compiled build. */
const COMPILED_CHILD = `
const { loadExperiment } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist/src/experiment/load.js')).href)})
const { defaultRegistry } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist/src/builtins.js')).href)})
const registry = defaultRegistry()
const cpu = process.cpuUsage()
const started = performance.now()
const r = await loadExperiment(process.argv[1], registry)
const wall = performance.now() - started
const used = process.cpuUsage(cpu)
console.log(\`# stats wall=\${wall.toFixed(0)} cpu=\${((used.user + used.system) / 1000).toFixed(0)} maxRSS=\${process.resourceUsage().maxRSS} issues=\${r.ok ? 0 : r.issues.length}\`)
`

type Form = 'compiled' | 'sources'

function child(file: string, form: Form): Promise<Figures> {
  return new Promise((resolve, reject) => {
    const args =
      form === 'compiled' ? ['--input-type=module', '-e', COMPILED_CHILD, file] : ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', file]
    const p = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (out += d))
    p.on('error', reject)
    p.on('close', () => {
      const m = /# stats wall=(\d+) cpu=(\d+) maxRSS=(\d+) issues=(\d+)/.exec(out)
      if (!m) return reject(new Error(`no figures from the child: ${out.slice(0, 400)}`))
      resolve({ wall: Number(m[1]), cpu: Number(m[2]), rssMB: Number(m[3]) / 1024, issues: Number(m[4]) })
    })
  })
}

const runsArg = process.argv.indexOf('--runs')
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function scenario(form: Form, name: string, file: string, note: string): Promise<void> {
  const runs: Figures[] = []
  for (let i = 0; i < RUNS; i++) runs.push(await child(file, form))
  console.log(
    `${name.padEnd(40)} validate: wall ${String(median(runs.map((r) => r.wall))).padStart(5)} ms  cpu ${String(median(runs.map((r) => r.cpu))).padStart(5)} ms  ` +
      `peak RSS ${median(runs.map((r) => r.rssMB))
        .toFixed(0)
        .padStart(4)} MB  issues ${runs[0].issues}  ${note}`,
  )
}

const { buildState } = (await import(pathToFileURL(join(root, 'bin/build-freshness.js')).href)) as { buildState(root: string): string }
if (buildState(root) !== 'fresh') {
  console.log(`dist/ is ${buildState(root)}: npm run build …`)
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' })
}

const work = mkdtempSync(join(tmpdir(), 'gameday-bench-validate-'))
try {
  mkdirSync(join(work, 'experiments'))
  const big = join(work, 'experiments', 'big-5mb.yaml')
  writeFileSync(big, generateExperiment(5_000_000))
  const broken = join(work, 'experiments', 'big-5mb-broken.yaml')
  writeFileSync(broken, generateExperiment(5_000_000, true))
  console.log(`generated ${big} (${(statSync(big).size / 1e6).toFixed(1)} MB); node ${process.version}, ${RUNS} runs per scenario, median`)
  for (const form of ['compiled', 'sources'] as const) {
    console.log(
      form === 'compiled' ? '\non the compiled build (what an installed package runs):' : '\nfrom the sources through tsx (a checkout without a build):',
    )
    await scenario(form, 'baseline: experiments/nats-node-kill.yaml', join(root, 'experiments/nats-node-kill.yaml'), '(the same process, a shipped experiment)')
    await scenario(form, '5 MB experiment', big, 'target: < 2 s, < 200 MB')
    await scenario(form, '5 MB experiment, one error at the end', broken, '(its position: from the chunk that holds it)')
  }
} finally {
  rmSync(work, { recursive: true, force: true })
}
