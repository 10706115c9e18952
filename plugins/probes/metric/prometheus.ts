/**
 * prometheus: a PromQL query against the user's Prometheus (HTTP API), judged with tolerances —
 * the SRE's SLOs, where they already live.
 *
 *   - one-shot (steady state, a `probe:` step): an instant query now (`/api/v1/query`), or with
 *     `window:` a range query over the last window (`/api/v1/query_range`);
 *   - through the method (`load:`): a range query over the whole time it ran, from its start to
 *     its stop (after `settle`, so the last scrape is in); `snapshot()` polls the instant value
 *     for guardrails (`abortWhen: "value > 0.05"`).
 *
 *   load:
 *     - name: error-budget
 *       probe: prometheus
 *       with:
 *         url: http://prometheus:9090
 *         query: sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))
 *         step: 5s
 *         settle: 15s
 *       tolerance: ["max < 0.01", "mean < 0.001"]
 *
 * The answer is reduced to one series (`reduce:` when the query answers several) and summarised
 * as value (the latest), min, max, mean, samples. An empty answer is inconclusive by default
 * (`noData:`). The URL comes from `url:`, else the PROMETHEUS_URL environment variable, so an
 * experiment can stay the same across environments.
 */
import { z } from 'zod'
import { defineProbe, Duration, GamedayError, sleepUnlessAborted, type Json, type Metrics, type Probe, type ProbeResult } from '../../../src/api/index.ts'
import { METRIC_PROBE_METRICS, NoData, Reduce, reduceSeries, summarise, type NamedSeries } from './series.ts'

const Params = z.strictObject({
  url: z.url().optional().describe("the Prometheus server's base URL (http://host:9090); default: $PROMETHEUS_URL"),
  query: z.string().min(1).describe('PromQL'),
  window: Duration.optional().describe('one-shot: judge the last window (a range query) instead of the value now'),
  step: Duration.prefault('5s').describe('resolution of range queries, and how often the live value is polled'),
  settle: Duration.prefault('0s').describe('wait this long before the final query (one scrape interval: the last samples are in)'),
  reduce: Reduce,
  noData: NoData,
  timeout: Duration.prefault('10s').describe('per HTTP request to Prometheus'),
})
type P = z.infer<typeof Params>

interface ApiAnswer {
  status: 'success' | 'error'
  errorType?: string
  error?: string
  data?: {
    resultType: 'vector' | 'matrix' | 'scalar' | 'string'
    result: unknown
  }
}

type Labels = Record<string, string>

function seriesName(labels: Labels): string {
  const { __name__: name, ...rest } = labels
  return `${name ?? ''}{${Object.entries(rest)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`
}

/** The series of an API answer (vector, matrix or scalar), samples in epoch ms. */
export function seriesOfAnswer(answer: ApiAnswer): NamedSeries[] {
  const data = answer.data!
  const sample = ([at, value]: [number, string]) => ({ at: Math.round(at * 1000), value: Number(value) })
  switch (data.resultType) {
    case 'scalar':
      return [{ name: 'scalar', samples: [sample(data.result as [number, string])] }]
    case 'vector':
      return (data.result as { metric: Labels; value: [number, string] }[]).map((r) => ({ name: seriesName(r.metric), samples: [sample(r.value)] }))
    case 'matrix':
      return (data.result as { metric: Labels; values: [number, string][] }[]).map((r) => ({ name: seriesName(r.metric), samples: r.values.map(sample) }))
    default:
      throw new GamedayError(`the query answered a ${data.resultType}, not a number: a tolerance cannot judge it`)
  }
}

export function prometheusUrl(p: Pick<P, 'url'>): string {
  const url = p.url ?? process.env.PROMETHEUS_URL
  if (!url) throw new GamedayError('prometheus: no server to ask — give `url:` or set PROMETHEUS_URL (e.g. http://127.0.0.1:9090)')
  return url.replace(/\/+$/, '')
}

/** One call of the HTTP API; a PromQL error comes back as a GamedayError with Prometheus's words. */
async function ask(base: string, path: string, params: Record<string, string>, timeoutMs: number): Promise<NamedSeries[]> {
  const url = `${base}${path}?${new URLSearchParams(params)}`
  let res: Response
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } })
  } catch (err) {
    throw new GamedayError(`prometheus at ${base} did not answer: ${(err as Error).message}`)
  }
  let answer: ApiAnswer
  try {
    answer = (await res.json()) as ApiAnswer
  } catch {
    throw new GamedayError(`prometheus at ${base} answered HTTP ${res.status} without JSON: is this the server's base URL?`)
  }
  if (answer.status !== 'success') throw new GamedayError(`prometheus refused the query ${JSON.stringify(params.query)}: ${answer.errorType}: ${answer.error}`)
  return seriesOfAnswer(answer)
}

export function instantQuery(base: string, query: string, at: number, timeoutMs: number): Promise<NamedSeries[]> {
  return ask(base, '/api/v1/query', { query, time: String(at / 1000) }, timeoutMs)
}

export function rangeQuery(base: string, query: string, from: number, to: number, stepMs: number, timeoutMs: number): Promise<NamedSeries[]> {
  return ask(base, '/api/v1/query_range', { query, start: String(from / 1000), end: String(to / 1000), step: String(stepMs / 1000) }, timeoutMs)
}

export const prometheus = defineProbe<P>({
  type: 'prometheus',
  description: "a PromQL query against the system's Prometheus (instant, or over a window or the method), judged on its value, min, max and mean",
  params: Params,
  metrics: METRIC_PROBE_METRICS,
  async create(ctx, p): Promise<Probe> {
    const base = prometheusUrl(p)
    const what = `the query ${JSON.stringify(p.query)}`
    let startedAt = 0
    let live: Metrics = {}
    let polling: NodeJS.Timeout | undefined

    const judge = (series: NamedSeries[], origin: number, window: { from: number; to: number } | { at: number }): ProbeResult => {
      const judged = summarise(reduceSeries(series, p.reduce, what), series.length, p.noData, origin, what)
      const details: Json = {
        url: base,
        query: p.query,
        ...('at' in window
          ? { at: new Date(window.at).toISOString() }
          : { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString(), stepMs: p.step }),
        series: series.slice(0, 10).map((s) => s.name),
      }
      return { metrics: judged.metrics, series: judged.series, details, inconclusive: judged.inconclusive, violations: judged.violations }
    }

    return {
      async run() {
        await sleepUnlessAborted(p.settle, ctx.signal)
        const now = Date.now()
        if (p.window === undefined) return judge(await instantQuery(base, p.query, now, p.timeout), now, { at: now })
        const from = now - p.window
        return judge(await rangeQuery(base, p.query, from, now, p.step, p.timeout), from, { from, to: now })
      },
      async start() {
        startedAt = Date.now()
        // the live value, for progress output and guardrails; a failed poll keeps the last one
        const poll = () =>
          instantQuery(base, p.query, Date.now(), p.timeout)
            .then((series) => (live = summarise(reduceSeries(series, p.reduce, what), series.length, p.noData, startedAt, what).metrics))
            .catch((err: Error) => ctx.log.warn(`prometheus ${ctx.name}: ${err.message}`))
        await poll()
        polling = setInterval(() => void poll(), Math.max(1_000, p.step))
      },
      snapshot: () => live,
      async stop() {
        clearInterval(polling)
        await sleepUnlessAborted(p.settle, ctx.signal)
        const to = Date.now()
        return judge(await rangeQuery(base, p.query, startedAt, to, p.step, p.timeout), startedAt, { from: startedAt, to })
      },
      async close() {
        clearInterval(polling)
      },
    }
  },
})
