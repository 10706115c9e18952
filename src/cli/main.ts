/**
 * The `gameday` command line. Exit codes: run → 0 passed, 1 deviated, 2 aborted or errored;
 * validate → 0 valid, 1 invalid; check → 0 ok, 1 violation found, 3 unknown, 2 bad input.
 */
import { createInterface } from 'node:readline/promises'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { defaultRegistry } from '../builtins.ts'
import { loadExperiment, type LoadedExperiment } from '../experiment/load.ts'
import { formatIssue } from '../experiment/yaml-source.ts'
import { loadEnvironment } from '../environments/load.ts'
import { runExperiment } from '../engine/run.ts'
import { planExperiment } from '../engine/plan.ts'
import { recoverRun } from '../engine/recover.ts'
import { writeReports } from '../reports/write.ts'
import { readJournal } from '../journal/journal.ts'
import { GAMEDAY_VERSION } from '../version.ts'
import type { Logger } from '../api/environment.ts'
import { GamedayError, ValidationError } from '../api/errors.ts'
import { randomSeed } from '../util/rng.ts'

// The AWS SDK warns on every start that Node 20 support ends in 2027; once in the README is enough.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

const log: Logger = {
  info: (m) => process.stdout.write(m + '\n'),
  warn: (m) => process.stderr.write(m + '\n'),
}

async function loadOrExit(file: string): Promise<LoadedExperiment> {
  const result = await loadExperiment(resolve(file), defaultRegistry())
  if (!result.ok) {
    for (const issue of result.issues) process.stderr.write(formatIssue({ ...issue, file: relativeToCwd(issue.file) }) + '\n')
    process.exit(1)
  }
  return result.loaded
}

function relativeToCwd(file: string): string {
  const cwd = process.cwd() + '/'
  return file.startsWith(cwd) ? file.slice(cwd.length) : file
}

async function confirm(question: string, expected: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout })
  try {
    return (await rl.question(question)).trim() === expected
  } finally {
    rl.close()
  }
}

const program = new Command()
  .name('gameday')
  .description('Chaos and resilience game days for NATS-based backends')
  .version(GAMEDAY_VERSION)
  .showHelpAfterError()

const envOption = () => new Option('-e, --env <env>', 'local | containers | aws | path to an environment file').default('local')

program
  .command('run')
  .description('run an experiment: steady state, method, rollback, steady state; reports in reports/<run-id>/')
  .argument('<experiment>', 'experiment YAML file')
  .addOption(envOption())
  .option('--seed <n>', 'seed for every random pick (replays a run)', (v) => Number.parseInt(v, 10))
  .option('--keep-env', 'leave an environment the run started running afterwards')
  .option('--reports <dir>', 'where run directories go', 'reports')
  .option('-y, --yes', 'do not ask for confirmation (required off a terminal for aws)')
  .option('--no-live', 'no per-second figures')
  .action(async (file: string, opts: { env: string; seed?: number; keepEnv?: boolean; reports: string; yes?: boolean; live: boolean }) => {
    const loaded = await loadOrExit(file)
    const env = await loadEnvironment(opts.env)
    if (env.guardrails?.requiresConfirmation && !opts.yes) {
      if (!process.stdin.isTTY) {
        log.warn(`refusing to run against ${env.kind} (${env.source}) without --yes: not on a terminal, cannot ask`)
        process.exit(2)
      }
      log.info(`This runs ${loaded.experiment.name} against ${env.kind} (${env.source}). Review it first with \`gameday plan ${file} --env ${opts.env}\`.`)
      if (!(await confirm(`Type the experiment name (${loaded.experiment.name}) to continue: `, loaded.experiment.name))) {
        log.warn('not confirmed: nothing was done')
        process.exit(2)
      }
    }
    const controller = new AbortController()
    let signals = 0
    const onSignal = (sig: NodeJS.Signals) => {
      signals++
      if (signals === 1) {
        log.warn(`\n${sig}: aborting — reverting every fault and tearing down (${sig} again to leave faults in place)`)
        controller.abort(new Error(`signal ${sig}`))
      } else if (signals === 2) {
        log.warn(`${sig} again: still reverting; one more to exit at once (then run \`gameday recover\`)`)
      } else {
        process.exit(130)
      }
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    const outcome = await runExperiment({
      loaded,
      env,
      environmentName: opts.env,
      seed: opts.seed,
      keepEnv: opts.keepEnv,
      reportsDir: opts.reports,
      signal: controller.signal,
      log,
      live: opts.live,
    })
    process.exit(outcome.exitCode)
  })

program
  .command('validate')
  .description('check experiments against the schema and the known probes and faults; errors as file:line:col')
  .argument('<files...>')
  .action(async (files: string[]) => {
    let bad = 0
    for (const file of files) {
      const result = await loadExperiment(resolve(file), defaultRegistry())
      if (result.ok) log.info(`${file}: ok`)
      else {
        bad++
        for (const issue of result.issues) process.stderr.write(formatIssue({ ...issue, file: relativeToCwd(issue.file) }) + '\n')
      }
    }
    process.exit(bad ? 1 : 0)
  })

program
  .command('plan')
  .description('print the resolved targets and steps without touching anything')
  .argument('<experiment>')
  .addOption(envOption())
  .option('--seed <n>', 'seed for random picks', (v) => Number.parseInt(v, 10))
  .action(async (file: string, opts: { env: string; seed?: number }) => {
    const loaded = await loadOrExit(file)
    const env = await loadEnvironment(opts.env)
    const { lines, refusals } = await planExperiment(loaded, env, opts.seed ?? loaded.experiment.seed ?? randomSeed())
    for (const l of lines) log.info(`${'  '.repeat(l.depth)}${l.text}`)
    await env.close?.()
    if (refusals.length) {
      log.warn(`\nguardrails refuse ${refusals.length} step(s):\n${refusals.map((r) => `  ${r}`).join('\n')}`)
      process.exit(2)
    }
  })

const envCmd = program.command('env').description('manage an environment')
envCmd
  .command('up')
  .addOption(envOption())
  .action(async (opts: { env: string }) => {
    const env = await loadEnvironment(opts.env)
    const t = performance.now()
    const controller = new AbortController()
    process.once('SIGINT', () => controller.abort(new Error('SIGINT')))
    await env.up(log, controller.signal)
    log.info(`${opts.env} environment up in ${((performance.now() - t) / 1000).toFixed(1)}s`)
    for (const l of (await env.status()).lines) log.info(`  ${l.what.padEnd(28)} ${l.state.padEnd(9)} ${l.detail ?? ''}`)
  })
envCmd
  .command('status')
  .addOption(envOption())
  .action(async (opts: { env: string }) => {
    const env = await loadEnvironment(opts.env)
    const status = await env.status()
    for (const l of status.lines) log.info(`${l.what.padEnd(28)} ${l.state.padEnd(9)} ${l.detail ?? ''}`)
    process.exit(status.up ? 0 : 1)
  })
envCmd
  .command('down')
  .addOption(envOption())
  .action(async (opts: { env: string }) => {
    const env = await loadEnvironment(opts.env)
    await env.down(log)
  })

program
  .command('report')
  .description('regenerate result.json, junit.xml, summary.md and report.html from a run directory’s journal; --index DIR: a page of every run under DIR')
  .argument('[run-dir]')
  .option('--index <reports-dir>', 'write <reports-dir>/index.html: every run, its verdict and score, each experiment’s trend')
  .action(async (dir: string | undefined, opts: { index?: string }) => {
    if (opts.index) {
      const { indexCommand } = await import('../reports/commands.ts')
      indexCommand(opts.index, { out: (t) => process.stdout.write(t) })
      return
    }
    if (!dir) throw new ValidationError('give a run directory (gameday report reports/<run-id>), or --index <reports-dir>')
    if (!existsSync(join(dir, 'journal.jsonl'))) throw new ValidationError(`${dir}: no journal.jsonl`)
    const r = writeReports(dir)
    log.info(`${r.experiment} ${r.status}: ${dir}/result.json, junit.xml, summary.md, report.html`)
  })

program
  .command('compare')
  .description(
    'two runs of one experiment side by side: tolerances before and after, time to recover, new and fixed deviations; exit 1 when B has a new deviation',
  )
  .argument('<run-a>', 'the earlier run (a run directory)')
  .argument('<run-b>', 'the later run')
  .option('--html <file>', 'also write the comparison as a page')
  .action(async (a: string, b: string, opts: { html?: string }) => {
    const { compareCommand } = await import('../reports/commands.ts')
    process.exitCode = compareCommand(a, b, { html: opts.html, out: (t) => process.stdout.write(t) })
  })

program
  .command('recover')
  .description('revert every fault a crashed or killed run left behind, from its journal')
  .argument('<run-dir>')
  .option('-e, --env <env>', 'environment (default: the one the run used)')
  .action(async (dir: string, opts: { env?: string }) => {
    const start = readJournal(join(dir, 'journal.jsonl')).find((e) => e.type === 'run.started')
    if (!start || start.type !== 'run.started') throw new ValidationError(`${dir}: no run.started in the journal`)
    const env = await loadEnvironment(opts.env ?? start.environmentFile)
    const loaded = existsSync(start.experimentFile) ? await loadExperiment(start.experimentFile, defaultRegistry()) : undefined
    const registry = loaded?.ok ? loaded.loaded.registry : defaultRegistry()
    const { reverted, failed } = await recoverRun(dir, env, registry, log)
    log.info(`recover: ${reverted} reverted, ${failed} failed`)
    await env.close?.()
    process.exit(failed ? 2 : 0)
  })

program
  .command('proxy')
  .description('run the Toxiproxy-compatible fault proxy standalone (admin API on loopback unless --allow-remote)')
  .option('--listen <host:port>', 'admin API address', '127.0.0.1:8474')
  .option('--allow-remote', 'allow a non-loopback admin address')
  .option('--seed <n>', 'seed for toxicity rolls, jitter and slicing', (v) => Number.parseInt(v, 10))
  .action(async (opts: { listen: string; allowRemote?: boolean; seed?: number }) => {
    const { runProxyCommand } = await import('../proxy/index.ts')
    await runProxyCommand(opts)
  })

const checkCmd = program.command('check').description('check a recorded history; exit 0 ok, 1 violation, 3 unknown, 2 bad input (several files: the worst)')
// usage errors are bad input (2), not a violation (1)
const badUsage = (err: { exitCode: number; code: string }) => process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.help' ? 0 : 2)
checkCmd
  .command('linearizability')
  .exitOverride(badUsage)
  .description('linearizability of a history (our JSONL, Jepsen etcd logs or EDN maps); the verdict on the last line')
  .option('-m, --model <model>', 'cas-register | kv (required)')
  .option('--budget <duration>', 'search time budget per file (10s, 500ms; a bare number is ms); spent = unknown')
  .argument('<files...>')
  .action(async (files: string[], opts: { model?: string; budget?: string }) => {
    const { checkLinearizability, EXIT_BAD_INPUT } = await import('../checkers/cli.ts')
    if (!opts.model) {
      log.warn('--model is required (cas-register or kv)')
      process.exit(EXIT_BAD_INPUT)
    }
    const { parseDuration } = await import('../util/duration.ts')
    let budgetMs: number | undefined
    try {
      budgetMs = opts.budget === undefined ? undefined : /^\d+(\.\d+)?$/.test(opts.budget) ? Number(opts.budget) : parseDuration(opts.budget)
    } catch (err) {
      log.warn((err as Error).message)
      process.exit(EXIT_BAD_INPUT)
    }
    const controller = new AbortController()
    process.once('SIGINT', () => controller.abort(new Error('SIGINT')))
    const code = await checkLinearizability(files, {
      model: opts.model as 'cas-register' | 'kv',
      budgetMs,
      signal: controller.signal,
      out: (l) => process.stdout.write(l + '\n'),
    })
    process.exit(code)
  })
checkCmd
  .command('durability')
  .exitOverride(badUsage)
  .description('durability of a publish/read history: lost, unexpected, duplicated, recovered, unknown')
  .option('--first <n>', 'how many lost / unexpected values to list', (v) => Number.parseInt(v, 10))
  .argument('<files...>')
  .action(async (files: string[], opts: { first?: number }) => {
    const { checkDurability } = await import('../checkers/cli.ts')
    process.exit(await checkDurability(files, { firstN: opts.first, out: (l) => process.stdout.write(l + '\n') }))
  })

program
  .command('list')
  .description('the probe and fault types available')
  .action(() => {
    const registry = defaultRegistry()
    log.info('probes:')
    for (const t of registry.probeTypes()) log.info(`  ${t.padEnd(24)} ${registry.probe(t)!.description}`)
    log.info('faults:')
    for (const t of registry.faultTypes()) log.info(`  ${t.padEnd(24)} ${registry.fault(t)!.description}`)
  })

program.parseAsync(process.argv).catch((err: unknown) => {
  // a typed error is a message for the user; anything else is a bug, and its stack helps report it
  const typed = err instanceof GamedayError || (err instanceof Error && err.name !== 'Error' && err.name !== 'TypeError')
  log.warn(typed && !process.env.GAMEDAY_DEBUG ? `gameday: ${(err as Error).message}` : `gameday: ${(err as Error).stack ?? err}`)
  process.exit(2)
})
