/**
 * request-slo: open-loop load at a constant rate through the gateway (HTTP) or straight over
 * NATS request-reply, judged on success ratio, error classes and latency percentiles.
 *
 * The runner checks itself: when its own schedule lag or event-loop delay passed `runnerBound`
 * (p90 over the measurement: persistently late, not one GC pause) — a machine saturated by
 * something else — it did not send the load asked for and the latencies it recorded are its own:
 * the verdict is inconclusive with the figures, never a pass and never a deviation the machine
 * caused (a latency tolerance that fails there is no finding); a success rate that fails still fails.
 * `scheduleLagP90` and `loopDelayP90` are reported either way.
 *
 *   - name: gateway-slo
 *     probe: request-slo
 *     with: { via: gateway, path: /v1/inventory/player-{seq}, rate: 50, duration: 5s }
 *     tolerance: ["successRate >= 99.9%", "p99 < 50ms"]
 */
import { z } from 'zod'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import {
  defineProbe,
  Duration,
  gatewayHttp,
  LOAD_METRICS,
  OpenLoopLoad,
  sleepUnlessAborted,
  type GatewayHttp,
  type Outcome,
  type Probe,
  type ProbeResult,
} from '../../src/api/index.ts'
import { REQUEST_PARAMS } from './shared-request.ts'

/** the figures an overloaded runner distorts: a tolerance on them that fails then is inconclusive */
const LATENCY_METRICS = ['p50', 'p90', 'p99', 'p999', 'max', 'mean']

const Params = z.strictObject({
  ...REQUEST_PARAMS,
  rate: z.number().positive().default(50).describe('requests per second (open loop)'),
  duration: Duration.prefault('5s').describe('how long a one-shot run lasts (steady-state checks)'),
  warmup: Duration.prefault('1s').describe('one-shot: requests sent before the measurement starts (fresh connections, cold code paths), not counted'),
  timeout: Duration.prefault('2s').describe('the caller budget per request'),
  runnerBound: Duration.prefault('20ms').describe(
    "the runner's own lateness (p90 of schedule lag or event-loop delay) past which its latencies are not trusted: the verdict is inconclusive",
  ),
})

type P = z.infer<typeof Params>

function classifyError(err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return 'refused'
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return 'reset'
  if (err.name === 'TimeoutError' || err.code === 'ETIMEDOUT') return 'timeout'
  if (/no responders/i.test(err.message)) return 'no-responders'
  return err.code ?? err.name ?? 'error'
}

function httpSender(gateway: GatewayHttp, p: P): { send: (seq: number) => Promise<Outcome>; close: () => void } {
  const timeoutMs = p.timeout
  const send = (seq: number) =>
    new Promise<Outcome>((resolve) => {
      const req = gateway.request(
        {
          method: p.method,
          path: p.path.replaceAll('{seq}', String(seq)),
          headers: p.body ? { 'content-type': 'application/json' } : {},
        },
        (res) => {
          res.resume()
          res.on('end', () => {
            const code = res.statusCode ?? 0
            resolve(code < 400 ? { ok: true } : { ok: false, errorClass: `http-${code}` })
          })
          res.on('error', () => resolve({ ok: false, errorClass: 'reset' }))
        },
      )
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })))
      req.on('error', (err) => resolve({ ok: false, errorClass: classifyError(err) }))
      req.end(p.body)
    })
  return { send, close: () => gateway.close() }
}

export const requestSlo = defineProbe<P>({
  type: 'request-slo',
  description: 'constant-rate (open-loop) requests through the gateway or NATS; success ratio, error classes, latency percentiles',
  params: Params,
  metrics: LOAD_METRICS,
  defaultTolerance: ['successRate >= 99%'],
  async create(ctx, p): Promise<Probe> {
    let load: OpenLoopLoad | undefined
    let nc: NatsConnection | undefined
    let closeHttp = () => {}

    const makeSender = async (): Promise<(seq: number) => Promise<Outcome>> => {
      if (p.via === 'gateway') {
        const http = httpSender(gatewayHttp(ctx.env, { keepAlive: true, maxSockets: 256 }), p)
        closeHttp = http.close
        return http.send
      }
      nc = await connect({
        servers: ctx.env.endpoints.natsServers(p.cluster),
        name: `gameday-probe-${ctx.name}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        ...(ctx.env.endpoints.natsOptions?.(p.cluster) ?? {}),
      })
      const payload = Buffer.from(p.payload, 'base64')
      const timeout = p.timeout
      return async () => {
        try {
          await nc!.request(p.subject, payload, { timeout })
          return { ok: true }
        } catch (err) {
          return { ok: false, errorClass: classifyError(err as NodeJS.ErrnoException) }
        }
      }
    }

    // one sender for warm-up and measurement: the warmed connections are the point of warming up
    let sender: Promise<(seq: number) => Promise<Outcome>> | undefined
    const getSender = () => (sender ??= makeSender())

    const result = (): ProbeResult => {
      const untrusted = load!.untrustedBecause()
      if (untrusted.length) ctx.log.warn(`  ${ctx.name}: ${untrusted.join('; ')}`)
      // An overloaded runner did not send the load asked for, so a tolerance that held is no evidence
      // (inconclusive); its lateness is in the latencies it measured, so one that failed there is
      // no finding either (untrusted). A success rate that failed is still a failure.
      return {
        metrics: load!.metrics(),
        series: load!.series(),
        ...(untrusted.length ? { inconclusive: untrusted, untrusted: [{ metrics: LATENCY_METRICS, reason: untrusted.join('; ') }] } : {}),
      }
    }

    const start = async () => {
      load = new OpenLoopLoad({ rate: p.rate, send: await getSender(), runnerBound: p.runnerBound })
      load.start()
    }
    const stop = async () => {
      await load!.stop()
      return result()
    }
    return {
      start,
      stop,
      snapshot: () => (load ? load.lastSecond() : {}),
      async run() {
        const warmup = p.warmup
        if (warmup > 0) {
          const warm = new OpenLoopLoad({ rate: p.rate, send: await getSender(), runnerBound: p.runnerBound })
          warm.start()
          await sleepUnlessAborted(warmup, ctx.signal)
          await warm.stop()
        }
        await start()
        await sleepUnlessAborted(p.duration, ctx.signal)
        return stop()
      },
      async close() {
        closeHttp()
        // releasing a connection that may already be closed
        await nc?.close().catch(() => {})
      },
    }
  },
})
