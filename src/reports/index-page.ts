/**
 * index.html of a reports folder (`gameday report --index reports/`): every experiment with its
 * resilience score over time, and every run with its verdict, score, confidence, what deviated,
 * and a link to its report.
 */
import { existsSync } from 'node:fs'
import { join, relative } from 'node:path'
import { formatDuration } from '../util/duration.ts'
import type { LoadedRun } from './runs.ts'
import { readout, type Readout } from './readout.ts'
import { confidenceLevel, experimentTrend, scoredRun, TREND_WINDOW, type ExperimentTrend } from './score.ts'
import type { ChartSpec } from './series.ts'
import { esc, htmlPage } from './page.ts'

export interface IndexEntry {
  run: LoadedRun
  readout: Readout
  /** the run's page, relative to the index */
  link: string
}

export interface ExperimentIndex {
  experiment: string
  trend: ExperimentTrend
  /** newest first */
  entries: IndexEntry[]
}

export function indexRuns(reportsDir: string, runs: LoadedRun[]): ExperimentIndex[] {
  const byExperiment = new Map<string, IndexEntry[]>()
  for (const run of runs) {
    const page = ['report.html', 'summary.md', 'result.json', 'journal.jsonl'].map((f) => join(run.dir, f)).find((f) => existsSync(f)) ?? run.dir
    const entry = { run, readout: readout(run.result), link: relative(reportsDir, page).split('\\').join('/') }
    byExperiment.set(run.result.experiment, [...(byExperiment.get(run.result.experiment) ?? []), entry])
  }
  return [...byExperiment]
    .map(([experiment, entries]) => ({
      experiment,
      trend: experimentTrend(
        experiment,
        entries.map((e) => scoredRun(e.run.result, e.readout.score)),
      ),
      entries: [...entries].sort((a, b) => b.run.result.startedAt.localeCompare(a.run.result.startedAt)),
    }))
    .sort((a, b) => b.entries[0].run.result.startedAt.localeCompare(a.entries[0].run.result.startedAt))
}

function trendChart(x: ExperimentIndex, i: number): ChartSpec {
  const runs = x.trend.runs
  return {
    id: `t${i}`,
    probe: x.experiment,
    title: 'resilience score and confidence over time',
    unit: 'score',
    x: runs.map((r) => Date.parse(r.startedAt) / 1000),
    lines: [
      { key: 'score', label: 'score', values: runs.map((r) => r.score ?? null) },
      { key: 'confidence', label: 'confidence %', values: runs.map((r) => (r.score !== undefined ? Math.round(r.confidence * 100) : null)), dash: [4, 4] },
    ],
    tolerances: [],
    step: false,
    spanGaps: true,
    xTime: true,
    group: `trend-${i}`,
    height: 170,
    xLabel: 'started (UTC)',
  }
}

const STATUS_PILL: Record<string, string> = { passed: 'pass', deviated: 'fail', inconclusive: 'inconclusive' }

export function indexPage(reportsDir: string, experiments: ExperimentIndex[], skipped: { dir: string; why: string }[] = []): string {
  const runCount = experiments.reduce((n, x) => n + x.entries.length, 0)
  const overview = experiments.map((x) => {
    const last = x.entries[0]
    const r = last.run.result
    const change = x.trend.change === undefined ? '' : x.trend.change === 0 ? '±0' : x.trend.change > 0 ? `▲ +${x.trend.change}` : `▼ ${x.trend.change}`
    return `<tr><td><a href="#x-${esc(x.experiment)}"><b>${esc(x.experiment)}</b></a></td><td class="num">${x.entries.length}</td><td><span class="pill pill-${STATUS_PILL[r.status] ?? 'errored'}">${esc(r.status)}</span></td><td class="num"><b>${x.trend.current ?? '—'}</b></td><td class="num"><span class="${(x.trend.change ?? 0) < 0 ? 'delta-bad' : (x.trend.change ?? 0) > 0 ? 'delta-good' : ''}">${esc(change)}</span></td><td><a href="${esc(last.link)}">${esc(r.startedAt)}</a></td></tr>`
  })
  const sections = experiments.map((x, i) => {
    const rows = x.entries.map((e) => {
      const r = e.run.result
      const s = e.readout.score
      const what = [
        ...e.readout.deviations.slice(0, 3).map((d) => `<li class="bad">${esc(d.probe)}: ${esc(d.what === 'violation' || d.what === 'error' ? d.by : `${d.what} — ${d.by}`)}</li>`),
        ...(e.readout.deviations.length > 3 ? [`<li class="muted">… ${e.readout.deviations.length - 3} more</li>`] : []),
        ...e.readout.inconclusive.map((c) => `<li class="unk">inconclusive: ${esc(c.probe)}</li>`),
        ...(r.reason && r.status !== 'passed' ? [`<li class="muted">${esc(r.reason)}</li>`] : []),
      ]
      return `<tr data-run="${esc(r.runId)}"><td><a href="${esc(e.link)}">${esc(r.startedAt.replace('T', ' ').slice(0, 19))}</a><br><small class="muted">${esc(r.runId)}</small></td><td><span class="pill pill-${STATUS_PILL[r.status] ?? 'errored'}">${esc(r.status)}</span></td><td class="num"><b>${s.score ?? '—'}</b></td><td>${s.score !== undefined ? `${confidenceLevel(s.confidence)} (${Math.round(s.confidence * 100)}%)` : '—'}</td><td class="num">${r.durationMs !== undefined ? esc(formatDuration(r.durationMs)) : '—'}</td><td>${esc(r.environment.split('/').pop() ?? r.environment)}</td><td><ul class="plain">${what.join('') || '<li class="ok">every tolerance held</li>'}</ul></td></tr>`
    })
    const [newest, previous] = x.entries
    const compare = previous ? `<p class="hint">What changed since the run before: <code>gameday compare ${esc(previous.run.dir)} ${esc(newest.run.dir)}</code></p>` : ''
    return `<section class="card" id="x-${esc(x.experiment)}"><div class="card-head"><h2>${esc(x.experiment)}</h2><div class="muted">score <b>${x.trend.current ?? '—'}</b> (confidence-weighted mean of the last ${TREND_WINDOW} scored runs)</div></div>
${x.entries.length > 1 ? `<div class="chart" data-chart="t${i}"></div>` : ''}${compare}
<table><tr><th>started (UTC)</th><th>verdict</th><th class="num">score</th><th>confidence</th><th class="num">duration</th><th>environment</th><th>deviations</th></tr>${rows.join('\n')}</table></section>`
  })
  const skippedNote = skipped.length ? `<section class="card"><h2>Not listed</h2><ul class="plain">${skipped.map((s) => `<li>${esc(s.dir)}: ${esc(s.why)}</li>`).join('')}</ul></section>` : ''
  const body = `<header class="hero"><div><div class="eyebrow">Game days</div><h1>${esc(reportsDir)}</h1><div class="meta">${runCount} run(s) of ${experiments.length} experiment(s)</div></div></header>
<section class="card" id="overview"><h2>Experiments</h2><table><tr><th>experiment</th><th class="num">runs</th><th>last verdict</th><th class="num">score</th><th class="num">change</th><th>last run</th></tr>${overview.join('\n')}</table>
<p class="hint">Score: how much of what the experiment asks held, weighted by phase; an inconclusive verdict lowers the confidence, not the score (see README, "Resilience score").</p></section>
${sections.join('\n')}${skippedNote}`
  const charts = experiments.flatMap((x, i) => (x.entries.length > 1 ? [trendChart(x, i)] : []))
  return htmlPage({ title: `Game days: ${reportsDir}`, body, data: { kind: 'index', windows: [], markers: [], lanes: [], charts } })
}
