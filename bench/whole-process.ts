/**
 * Timing commands as users run them: a whole process from spawn to exit (node start-up
 * included), median of N runs, with the child's peak RSS when GNU time is there to tell it.
 * Printed next to a goal and a baseline measured in the same run; never an assertion.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'

const GNU_TIME = '/usr/bin/time'
const hasGnuTime = existsSync(GNU_TIME)

export interface Run {
  ms: number
  code: number | null
  /** peak resident set of the child, MB (NaN without GNU time) */
  rssMb: number
  /** user + system CPU time of the child, ms (NaN without GNU time): steadier than wall time on a busy machine */
  cpuMs: number
  stdout: string
  stderr: string
}

export function runOnce(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const [cmd, argv] = hasGnuTime ? [GNU_TIME, ['-f', '#rss %M %U %S', command, ...args]] : [command, args]
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(cmd, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      const ms = performance.now() - started
      const usage = /#rss (\d+) ([\d.]+) ([\d.]+)\s*$/.exec(stderr)
      resolve({
        ms,
        code,
        rssMb: usage ? Number(usage[1]) / 1024 : Number.NaN,
        cpuMs: usage ? (Number(usage[2]) + Number(usage[3])) * 1000 : Number.NaN,
        stdout,
        stderr: stderr.replace(/(Command exited with non-zero status \d+\n)?#rss [\d. ]+\s*$/, ''),
      })
    })
  })
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

export interface Scenario {
  name: string
  command: string
  args: string[]
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** e.g. `< 200 ms`: printed, and compared with the median */
  goalMs?: number
  /** exit codes that mean it worked (default [0]) */
  expectExit?: number[]
  /** what the output must show for the figure to count (e.g. that the command, not a wrapper, answered) */
  expectOutput?: RegExp
}

export interface Figures {
  name: string
  medianMs: number
  minMs: number
  maxMs: number
  rssMb: number
  cpuMs: number
  code: number | null
  lastLine: string
  /** the last run's stdout and stderr */
  output: string
}

/**
 * Runs every scenario `runs` times, interleaved (run 1 of each, then run 2 of each, …) after one
 * warm-up each, so that a machine that gets busier or quieter during the run weighs on all of them
 * alike; prints one line per scenario, compared with the scenario named by its `baseline`.
 */
export async function measureTogether(scenarios: (Scenario & { baseline?: string })[], runs: number): Promise<Figures[]> {
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')
  console.log(`${cpus().length} CPUs, load average ${load()} at the start`)
  for (const s of scenarios) await runOnce(s.command, s.args, s)
  const all: Run[][] = scenarios.map(() => [])
  for (let i = 0; i < runs; i++) for (const [j, s] of scenarios.entries()) all[j].push(await runOnce(s.command, s.args, s))
  const figures = scenarios.map((s, j) => {
    const ms = all[j].map((r) => r.ms)
    const last = all[j].at(-1)!
    return {
      name: s.name,
      medianMs: median(ms),
      minMs: Math.min(...ms),
      maxMs: Math.max(...ms),
      rssMb: median(all[j].map((r) => r.rssMb)),
      cpuMs: median(all[j].map((r) => r.cpuMs)),
      code: last.code,
      lastLine: (last.stdout.trim() || last.stderr.trim()).split('\n').at(-1) ?? '',
      output: last.stdout + last.stderr,
    }
  })
  for (const [j, s] of scenarios.entries()) {
    const f = figures[j]
    const baseline = s.baseline ? figures.find((b) => b.name === s.baseline) : undefined
    const parts = [
      `${s.name.padEnd(60)} ${f.medianMs.toFixed(0).padStart(5)} ms (min ${f.minMs.toFixed(0)}, max ${f.maxMs.toFixed(0)})`,
      Number.isNaN(f.rssMb) ? '' : `cpu ${f.cpuMs.toFixed(0).padStart(5)} ms  ${f.rssMb.toFixed(0).padStart(4)} MB`,
      baseline ? `= baseline + ${(f.medianMs - baseline.medianMs).toFixed(0)} ms (cpu + ${(f.cpuMs - baseline.cpuMs).toFixed(0)})` : '',
      s.goalMs !== undefined ? `goal < ${s.goalMs} ms: ${f.medianMs < s.goalMs ? 'met' : 'NOT met'}` : '',
      (s.expectExit ?? [0]).includes(f.code ?? -1) ? '' : `UNEXPECTED exit ${f.code}: ${f.lastLine}`,
      !s.expectOutput || s.expectOutput.test(f.output) ? '' : `UNEXPECTED output: ${f.lastLine}`,
    ]
    console.log(parts.filter(Boolean).join('  '))
  }
  console.log(`load average ${load()} at the end`)
  return figures
}
