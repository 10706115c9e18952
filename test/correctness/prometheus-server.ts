/**
 * A real Prometheus server for tests (Debian's `prometheus` package; `npm run setup` installs
 * it): loopback only, its own temp directory, scraping the given targets every 500 ms. `stop()`
 * kills it and removes the directory, test failed or not.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../src/util/ports.ts'
import { waitFor } from '../../src/util/abort.ts'

export interface PrometheusServer {
  url: string
  /** resolves once every target has been scraped successfully */
  targetsUp(timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

export function prometheusInstalled(): boolean {
  try {
    execFileSync('prometheus', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export async function startPrometheus(targets: string[], job = 'gameday-target'): Promise<PrometheusServer> {
  if (!prometheusInstalled()) throw new Error('prometheus is not installed: run `npm run setup` (Debian: apt-get install prometheus)')
  const dir = mkdtempSync(join(tmpdir(), 'gameday-test-prometheus-'))
  const port = await freePort()
  const config = join(dir, 'prometheus.yml')
  writeFileSync(
    config,
    [
      'global: { scrape_interval: 500ms, evaluation_interval: 500ms }',
      'scrape_configs:',
      `  - job_name: ${job}`,
      '    scrape_timeout: 400ms',
      `    static_configs: [{ targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}] }]`,
      '',
    ].join('\n'),
  )
  const child = spawn(
    'prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitFor(
      'prometheus to be ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`)
        const res = await fetch(`${url}/-/ready`).catch(() => undefined)
        return res?.ok === true
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    )
  } catch (err) {
    await stop()
    throw err
  }
  return {
    url,
    async targetsUp(timeoutMs = 15_000) {
      await waitFor(
        'every scrape target up',
        async () => {
          const res = (await (await fetch(`${url}/api/v1/targets`)).json()) as { data: { activeTargets: { health: string }[] } }
          const active = res.data.activeTargets
          return active.length === targets.length && active.every((t) => t.health === 'up')
        },
        { timeoutMs, intervalMs: 200 },
      )
    },
    stop,
  }
}
