/**
 * White-box sources of breaker state, each turning what a system already exports into
 * `StateChange`s, so an SDK's breaker can be watched without changing its code:
 *   - `nats`: JSON messages on a subject (the reference target's `gameday.breaker.<service>`
 *     events are one configuration: `{ task, state }`), fields found by JSON pointer;
 *   - `prometheus`: a text-format endpoint (a task's `/metrics`, or a Prometheus server's
 *     `/federate`) polled for a state gauge chosen by metric name and labels, either one series
 *     whose value is the state (`0` closed, `1` open, `2` half-open) or one series per state
 *     label whose value 1 marks the current one (resilience4j's shape).
 */
import jsonpointer from 'jsonpointer'
import parsePrometheusText from 'parse-prometheus-text-format'
import { z } from 'zod'
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node'
import { Duration, type Environment } from '../../../src/api/index.ts'
import { BREAKER_STATES, type BreakerState, type StateChange } from './states.ts'

const StateValue = z.union([z.string(), z.number()])
const StateValues = z.strictObject({ closed: StateValue, open: StateValue, 'half-open': StateValue }).describe('the value the source uses for each state')

export const NatsSource = z.strictObject({
  nats: z.strictObject({
    subject: z.string().default('gameday.breaker.{service}').describe('subject of the JSON state messages; {service} is the probe’s service'),
    instance: z.string().default('/task').describe('JSON pointer to the breaker instance (task) in a message'),
    state: z.string().default('/state').describe('JSON pointer to the state in a message'),
    states: StateValues.default({ closed: 'closed', open: 'open', 'half-open': 'half-open' }),
  }),
})

export const PrometheusSource = z.strictObject({
  prometheus: z.strictObject({
    urls: z.array(z.url()).min(1).describe("text-format endpoints: each task's /metrics, or a Prometheus /federate?match[]=… URL"),
    metric: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/),
    labels: z.record(z.string(), z.string()).default({}).describe('only series with these label values'),
    instance: z.string().optional().describe('label naming the breaker instance (e.g. task); default: the endpoint URL'),
    stateLabel: z.string().optional().describe('one series per state in this label, value 1 marking the current state (resilience4j)'),
    states: StateValues.optional().describe('default: 0 / 1 / 2 for a value; closed / open / half_open for a state label'),
    interval: Duration.prefault('250ms').describe('how often each endpoint is read'),
  }),
})

export const BreakerSource = z.union([z.literal('none'), NatsSource, PrometheusSource])
export type BreakerSourceConfig = z.infer<typeof BreakerSource>

export interface RunningSource {
  /** every change seen so far */
  readonly changes: StateChange[]
  /** what went wrong reading it (unparseable messages, failed scrapes), for the details */
  readonly problems: Record<string, number>
  /** read once more now (a poller), so `stop` sees the latest state */
  refresh(): Promise<void>
  close(): Promise<void>
}

function stateOf(value: unknown, states: Record<BreakerState, string | number>): BreakerState | undefined {
  return BREAKER_STATES.find((s) => String(states[s]) === String(value))
}

function count(problems: Record<string, number>, what: string): void {
  problems[what] = (problems[what] ?? 0) + 1
}

export async function startNatsSource(
  env: Environment,
  cfg: z.infer<typeof NatsSource>['nats'] & { cluster: string },
  service: string,
  name: string,
  now: () => number,
): Promise<RunningSource> {
  const changes: StateChange[] = []
  const problems: Record<string, number> = {}
  const nc: NatsConnection = await connect({
    servers: env.endpoints.natsServers(cfg.cluster),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    ...(env.endpoints.natsOptions?.(cfg.cluster) ?? {}),
  })
  const sub: Subscription = nc.subscribe(cfg.subject.replaceAll('{service}', service), {
    callback: (err, msg) => {
      if (err) return
      let body: unknown
      try {
        body = msg.json()
      } catch {
        count(problems, 'not JSON')
        return
      }
      const instance = jsonpointer.get(body as object, cfg.instance)
      const state = stateOf(jsonpointer.get(body as object, cfg.state), cfg.states)
      if (instance === undefined || state === undefined) return count(problems, `no ${instance === undefined ? cfg.instance : cfg.state} in a message`)
      changes.push({ t: now(), instance: String(instance), state })
    },
  })
  await nc.flush()
  return {
    changes,
    problems,
    refresh: async () => {
      await nc.flush().catch(() => count(problems, 'flush failed'))
    },
    async close() {
      sub.unsubscribe()
      // nothing left to read: an already closed connection has nothing to lose
      await nc.close().catch(() => {})
    },
  }
}

/** The breaker states in one text-format page, by instance. */
export function statesInText(text: string, cfg: z.infer<typeof PrometheusSource>['prometheus'], url: string): Map<string, BreakerState> {
  const states = cfg.states ?? (cfg.stateLabel ? { closed: 'closed', open: 'open', 'half-open': 'half_open' } : { closed: 0, open: 1, 'half-open': 2 })
  const out = new Map<string, BreakerState>()
  const family = parsePrometheusText(text).find((f) => f.name === cfg.metric)
  for (const sample of family?.metrics ?? []) {
    const labels = sample.labels ?? {}
    if (!Object.entries(cfg.labels).every(([k, v]) => labels[k] === v)) continue
    const instance = cfg.instance ? labels[cfg.instance] : url
    if (instance === undefined) continue
    if (cfg.stateLabel) {
      const state = stateOf(labels[cfg.stateLabel], states)
      if (state && Number(sample.value) === 1) out.set(instance, state)
    } else {
      const state = stateOf(Number(sample.value), states)
      if (state) out.set(instance, state)
    }
  }
  return out
}

export function startPrometheusSource(cfg: z.infer<typeof PrometheusSource>['prometheus'], now: () => number): RunningSource {
  const changes: StateChange[] = []
  const problems: Record<string, number> = {}
  const last = new Map<string, BreakerState>()
  const readOnce = async () => {
    await Promise.all(
      cfg.urls.map(async (url) => {
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(Math.max(1_000, cfg.interval * 4)) })
          if (!res.ok) return count(problems, `${url}: HTTP ${res.status}`)
          const seen = statesInText(await res.text(), cfg, url)
          if (!seen.size) count(problems, `${url}: no ${cfg.metric} series matching the labels`)
          const t = now()
          for (const [instance, state] of seen) {
            if (last.get(instance) === state) continue
            last.set(instance, state)
            changes.push({ t, instance, state })
          }
        } catch (err) {
          count(problems, `${url}: ${(err as Error).name === 'TimeoutError' ? 'timed out' : (err as Error).message}`)
        }
      }),
    )
  }
  let stopped = false
  let reading: Promise<void> = readOnce()
  const loop = (async () => {
    while (!stopped) {
      await reading
      await new Promise((r) => setTimeout(r, cfg.interval))
      if (!stopped) reading = readOnce()
    }
  })()
  return {
    changes,
    problems,
    refresh: async () => {
      await reading
      await readOnce()
    },
    async close() {
      stopped = true
      await loop
    },
  }
}
