/**
 * A task's Prometheus endpoint: `GET /metrics` in the text exposition format (prom-client), on
 * `METRICS_PORT` when it is set (0: any free port, logged), bound to `HOST` (127.0.0.1 unless
 * set). Every series carries the labels `service`, `task` and `az`, so one Prometheus scraping
 * every task tells them apart, as it would the studio's services.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Registry } from 'prom-client'
import type { TaskEnv } from './env.ts'
import type { Logger } from './log.ts'

export interface MetricsEndpoint {
  registry: Registry
  /** the port it listens on; undefined when METRICS_PORT is not set (metrics are kept, not served) */
  port?: number
  close(): Promise<void>
}

export async function serveMetrics(env: TaskEnv, log: Logger): Promise<MetricsEndpoint> {
  const registry = new Registry()
  registry.setDefaultLabels({ service: env.service, task: env.taskId, az: env.az })
  const raw = env.raw.METRICS_PORT
  if (raw === undefined || raw.trim() === '') return { registry, close: async () => {} }
  const wanted = Number(raw)
  if (!Number.isInteger(wanted) || wanted < 0 || wanted > 65535) throw new Error(`METRICS_PORT must be a port number, got ${JSON.stringify(raw)}`)
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end()
      return
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(wanted, env.raw.HOST || '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  log('metrics-listening', { port, path: '/metrics' })
  return {
    registry,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        // a scraper's keep-alive connection would hold the close open
        server.closeAllConnections()
      }),
  }
}
