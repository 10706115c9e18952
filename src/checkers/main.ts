/**
 * Standalone runner for the checkers, usable without the main CLI and as one whole process by
 * the benchmark:
 *
 *     tsx src/checkers/main.ts check linearizability --model cas-register [--budget 10s] FILE...
 *     tsx src/checkers/main.ts check durability [--first N] FILE...
 *
 * `--stats` prints `# stats maxRSS=<KiB> cpu=<ms> uptime=<ms>` on stderr at exit.
 */
import { runCheckCommand } from './cli.ts'

const argv = process.argv.slice(2)
const stats = argv.includes('--stats')
const lines: string[] = []
const code = await runCheckCommand(
  argv.filter((a) => a !== '--stats'),
  (line) => {
    lines.push(line)
    if (lines.length >= 256) process.stdout.write(lines.splice(0).join('\n') + '\n')
  },
)
if (lines.length > 0) process.stdout.write(lines.join('\n') + '\n')
if (stats) {
  const usage = process.resourceUsage()
  const cpuMs = (usage.userCPUTime + usage.systemCPUTime) / 1000
  process.stderr.write(`# stats maxRSS=${usage.maxRSS} cpu=${cpuMs.toFixed(0)} uptime=${(process.uptime() * 1000).toFixed(0)}\n`)
}
process.exitCode = code
