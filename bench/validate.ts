/**
 * Validation benchmark: figures, never assertions.
 *
 *     npm run bench:validate            (tsx bench/validate.ts [--runs 3])
 *
 * Each scenario runs in a fresh process (`node --import tsx bench/validate.ts --child FILE`)
 * that times loadExperiment alone — CPU and wall — and reports the process's peak RSS, so
 * figures compare with the baseline measured in the same run: the same process validating a
 * shipped experiment. Scenarios: a generated 5 MB experiment (target: < 2 s and < 200 MB),
 * and the same with one error at its end (a problem needs a position: it is looked up in the
 * chunk that holds it, so the error case should cost about what the success case does).
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
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

function child(file: string): Promise<Figures> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
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

async function scenario(name: string, file: string, note: string): Promise<void> {
  const runs: Figures[] = []
  for (let i = 0; i < RUNS; i++) runs.push(await child(file))
  console.log(
    `${name.padEnd(40)} validate: wall ${String(median(runs.map((r) => r.wall))).padStart(5)} ms  cpu ${String(median(runs.map((r) => r.cpu))).padStart(5)} ms  ` +
      `peak RSS ${median(runs.map((r) => r.rssMB))
        .toFixed(0)
        .padStart(4)} MB  issues ${runs[0].issues}  ${note}`,
  )
}

const work = mkdtempSync(join(tmpdir(), 'gameday-bench-validate-'))
try {
  mkdirSync(join(work, 'experiments'))
  const big = join(work, 'experiments', 'big-5mb.yaml')
  writeFileSync(big, generateExperiment(5_000_000))
  const broken = join(work, 'experiments', 'big-5mb-broken.yaml')
  writeFileSync(broken, generateExperiment(5_000_000, true))
  console.log(`generated ${big} (${(statSync(big).size / 1e6).toFixed(1)} MB); node ${process.version}, ${RUNS} runs per scenario, median\n`)
  await scenario('baseline: experiments/nats-node-kill.yaml', join(root, 'experiments/nats-node-kill.yaml'), '(the same process, a shipped experiment)')
  await scenario('5 MB experiment', big, 'target: < 2 s, < 200 MB')
  await scenario('5 MB experiment, one error at the end', broken, '(its position: from the chunk that holds it)')
} finally {
  rmSync(work, { recursive: true, force: true })
}
