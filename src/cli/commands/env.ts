/** `gameday env up|status|down`: manage an environment by hand (`run` brings one up and takes it down itself). */
import type { Command } from 'commander'
import { onRun } from '../command.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { loadEnvironmentOrFail } from '../inputs.ts'
import { envOption } from '../options.ts'
import { log } from '../output.ts'

function statusLine(l: { what: string; state: string; detail?: string }): string {
  return `${l.what.padEnd(28)} ${l.state.padEnd(9)} ${l.detail ?? ''}`
}

export function define(cmd: Command): void {
  const up = cmd.command('up').description('start the environment and wait until it is healthy').addOption(envOption())
  onRun(up, async (opts: { env: string }) => {
    const env = await loadEnvironmentOrFail(opts.env)
    const started = performance.now()
    const controller = new AbortController()
    process.once('SIGINT', () => controller.abort(new Error('SIGINT')))
    await env.up(log, controller.signal)
    log.info(`${opts.env} environment up in ${((performance.now() - started) / 1000).toFixed(1)}s`)
    for (const l of (await env.status()).lines) log.info(`  ${statusLine(l)}`)
  })

  const status = cmd.command('status').description('what is running; exit 1 when the environment is not up').addOption(envOption())
  onRun(status, async (opts: { env: string }): Promise<ExitCode> => {
    const env = await loadEnvironmentOrFail(opts.env)
    const s = await env.status()
    for (const l of s.lines) log.info(statusLine(l))
    return s.up ? EXIT.OK : EXIT.FINDING
  })

  const down = cmd.command('down').description('stop and remove everything the environment started').addOption(envOption())
  onRun(down, async (opts: { env: string }) => {
    const env = await loadEnvironmentOrFail(opts.env)
    await env.down(log)
  })
}
