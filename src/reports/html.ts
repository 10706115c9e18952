/**
 * report.html: the readout of one run, a page an SRE presents after a game day. At the top the
 * summary to paste (verdict, score, what deviated and by how much, time to recover per fault);
 * then every per-second series of every probe against the fault windows (uPlot: axes, units,
 * legends, zoom, hover values, the tolerance drawn), under a lane chart of the run's events on
 * the same clock; a correctness probe's counterexample drawn as operations on a time axis; the
 * verdicts, faults, evidence and the full event log.
 */
import type { ProbeVerdict, RunResult } from './result.ts'
import { formatDuration } from '../util/duration.ts'
import { runEvents } from './events.ts'
import { runCharts, type ChartSpec } from './series.ts'
import { counterexampleOf, counterexampleSvg } from './counterexample.ts'
import { describeRecovery } from './recovery.ts'
import { readout, readoutMarkdown, type Readout } from './readout.ts'
import { metricText } from './format.ts'
import { confidenceLevel } from './score.ts'
import { esc, htmlPage, statusClass, verdictPill } from './page.ts'

export function htmlReport(r: RunResult): string {
  const o = readout(r)
  const events = runEvents(r)
  const charts = runCharts(r)
  const body = [hero(o), readoutCard(o), methodCard(r, charts, events.lanes.length > 0), correctnessCard(r), verdictsCard(r), faultsCard(o), evidenceCard(r), logCard(r)].join('\n')
  return htmlPage({
    title: `${r.experiment} — ${r.status}`,
    body,
    data: { kind: 'run', domain: events.domain, windows: events.windows, markers: events.markers, lanes: events.lanes, charts },
  })
}

function hero(o: Readout): string {
  const r = o.result
  const s = o.score
  const score =
    s.score !== undefined
      ? `<div class="score" data-score="${s.score}">${s.score}<small>/100</small></div><div class="conf">resilience score · confidence ${confidenceLevel(s.confidence)} (${Math.round(s.confidence * 100)}%)</div>`
      : `<div class="conf">${esc(s.notes[0] ?? 'not scored')}</div>`
  return `<header class="hero"><div><div class="eyebrow">Game day readout</div><h1>${esc(r.experiment)}</h1>
<div class="meta">run <code>${esc(r.runId)}</code> · environment ${esc(r.environment)} · seed ${r.seed}<br>started ${esc(r.startedAt)} · ${r.durationMs !== undefined ? esc(formatDuration(r.durationMs)) : 'incomplete'} · <code>${esc(r.experimentFile)}</code></div></div>
<div class="verdict ${statusClass(r.status)}" id="verdict"><div class="v">${esc(r.status.toUpperCase())}</div>${score}</div></header>`
}

function readoutCard(o: Readout): string {
  const r = o.result
  const injected = o.recoveries.length
    ? o.recoveries
        .map((f) => {
          const fault = r.faults.find((x) => x.faultId === f.faultId)!
          const bad = f.unrecovered.length > 0
          const saw = f.signals.length
            ? `<details class="saw"><summary>what the probes saw (${f.signals.length})</summary><ul>${f.signals.map((s) => `<li>${esc(s.text)}</li>`).join('')}</ul></details>`
            : ''
          return `<li><b>${esc(f.label)}</b> at ${esc(formatDuration(f.injectedT ?? 0))}${fault.heldMs !== undefined ? `, held ${esc(formatDuration(fault.heldMs))}` : ''}<br>time to recover: <span class="ttr${bad ? ' bad' : ''}">${esc(describeRecovery(f))}</span>${saw}</li>`
        })
        .join('')
    : '<li>nothing was injected</li>'
  const deviations = o.deviations.length
    ? o.deviations.map((d) => `<li><span class="bad">✗</span> ${esc(d.phase)} · <b>${esc(d.probe)}</b>: ${d.what === 'violation' || d.what === 'error' ? esc(d.by) : `<code>${esc(d.what)}</code> — ${esc(d.by)}`}</li>`).join('')
    : '<li><span class="ok">✓</span> none: every tolerance held</li>'
  const inconclusive = o.inconclusive.length
    ? `<div><h4>Inconclusive — lowers confidence, not the score</h4><ul>${o.inconclusive.map((i) => `<li><span class="unk">?</span> ${esc(i.phase)} · <b>${esc(i.probe)}</b>: ${esc(i.reasons.join('; ') || 'no reason given')}</li>`).join('')}</ul></div>`
    : ''
  return `<section class="card" id="readout"><div class="card-head"><h2>Readout</h2><button class="copy" data-copy="readout-md" type="button">Copy as Markdown</button></div>
${r.reason ? `<p><b>${esc(r.reason)}</b></p>` : ''}
<div class="readout-grid"><div class="wide"><h4>Injected, and the time to recover</h4><ul>${injected}</ul></div><div><h4>Deviations</h4><ul>${deviations}</ul></div>${inconclusive}</div>
<textarea id="readout-md" hidden>${esc(readoutMarkdown(o))}</textarea></section>`
}

function toleranceBadges(p: ProbeVerdict): string {
  return p.tolerances.map((t) => `<span class="tol"><span class="${t.ok ? 'ok' : 'bad'}">${t.ok ? '✓' : '✗'}</span> <code>${esc(t.tolerance)}</code> ${esc(metricText(t.metric, t.actual, t.unit))}</span>`).join(' ')
}

function methodCard(r: RunResult, charts: ChartSpec[], hasLanes: boolean): string {
  if (!charts.length && !hasLanes) return ''
  const byProbe = new Map<string, ChartSpec[]>()
  for (const c of charts) byProbe.set(c.probe, [...(byProbe.get(c.probe) ?? []), c])
  const blocks = r.probes
    .filter((p) => byProbe.has(p.name) && (p.phase === 'during' || p.phase === 'method'))
    .map(
      (p) =>
        `<div class="probe-block"><h3>${esc(p.name)} <small class="muted">${esc(p.type)}</small> ${verdictPill(p.verdict)} ${toleranceBadges(p)}</h3>${byProbe
          .get(p.name)!
          .map((c) => `<div class="chart" data-chart="${c.id}"></div>`)
          .join('')}</div>`,
    )
  return `<section class="card" id="method"><h2>Through the method</h2>
<p class="hint">One clock for every chart: seconds since the run started. Shaded: a fault is active. Dashed: a tolerance. Hover to read values (and, under the lanes, what was going on at that second); drag to zoom, double-click to reset.</p>
<noscript><p class="bad">The charts need JavaScript; the tables below hold the same figures.</p></noscript>
${hasLanes ? '<div id="lanes" class="lanes"></div><div id="lanes-readout" class="lanes-readout">Hover a chart to see what was going on at that second.</div>' : ''}
${blocks.join('\n')}</section>`
}

function correctnessCard(r: RunResult): string {
  const drawn = r.probes.flatMap((p, i) => {
    const cx = counterexampleOf(p)
    if (!cx) return []
    return [
      `<h3>${esc(p.name)} ${verdictPill(p.verdict)} <span class="tol">${esc(String(p.metrics.verdict ?? ''))}${cx.partition ? ` · ${esc(cx.partition)}` : ''}</span></h3>
<div class="legend-row"><span><span class="sw" style="background:#ddf4ff;border:1px solid #54aeff"></span>linearized prefix, numbered in the order it takes effect</span><span><span class="sw" style="background:#ffebe9;border:1px solid #cf222e"></span>the operation that cannot follow it</span><span><span class="sw" style="background:#fff8c5;border:1px dashed #d4a72c"></span>concurrent, could not be placed before it either</span><span>dashed edge: no answer (may take effect later, or never)</span></div>
${counterexampleSvg(cx, `cx${i}`)}
<details><summary>as the checker printed it</summary><pre class="block">${esc(cx.lines.join('\n'))}</pre></details>`,
    ]
  })
  if (!drawn.length) return ''
  return `<section class="card" id="correctness"><h2>Correctness: counterexample</h2><p class="hint">No order of these operations is consistent with a single register: each bar runs from the operation's invocation to its answer. Hover a bar for its states.</p>${drawn.join('\n')}</section>`
}

function verdictsCard(r: RunResult): string {
  const rows = r.probes.map((p) => {
    const tol = p.tolerances
      .map((t) => `<li class="${t.ok ? 'ok' : 'bad'}"><code>${esc(t.tolerance)}</code> → ${esc(metricText(t.metric, t.actual, t.unit))}${t.reason ? ` <span class="muted">(${esc(t.reason)})</span>` : ''}</li>`)
      .join('')
    const notes = [...p.violations.map((v) => `<li class="bad">${esc(v)}</li>`), ...(p.inconclusive ?? []).map((w) => `<li class="unk">inconclusive: ${esc(w)}</li>`)]
    if (p.error) notes.push(`<li class="bad">error: ${esc(p.error)}</li>`)
    return `<tr><td>${esc(p.phase)}</td><td><b>${esc(p.name)}</b><br><small class="muted">${esc(p.type)}</small></td><td>${verdictPill(p.verdict)}</td><td><ul class="plain">${tol}${notes.join('')}</ul></td></tr>`
  })
  return `<section class="card" id="verdicts"><h2>Verdicts</h2><table><tr><th>phase</th><th>probe</th><th>verdict</th><th>tolerances</th></tr>${rows.join('\n')}</table></section>`
}

function faultsCard(o: Readout): string {
  const r = o.result
  if (!r.faults.length) return ''
  const rows = r.faults.map((f) => {
    const rec = o.recoveries.find((x) => x.faultId === f.faultId)
    const targets = f.targets.map((t) => `${t.id}${t.az ? ` (${t.az})` : ''}${t.role ? ` [${t.role}]` : ''}`).join(', ')
    return `<tr><td><b>${esc(f.type)}</b><br><small class="muted">${esc(f.path)}</small></td><td>${esc(targets)}</td><td class="num">${f.injectingT !== undefined ? esc(formatDuration(f.injectingT)) : '—'}</td><td class="num">${f.heldMs !== undefined ? esc(formatDuration(f.heldMs)) : '—'}</td><td>${esc(f.state)}${f.error ? `: ${esc(f.error)}` : ''}</td><td>${rec ? esc(describeRecovery(rec)) : '—'}</td></tr>`
  })
  return `<section class="card" id="faults"><h2>Faults</h2><table><tr><th>fault</th><th>targets</th><th class="num">at</th><th class="num">held</th><th>state</th><th>time to recover</th></tr>${rows.join('\n')}</table></section>`
}

function evidenceCard(r: RunResult): string {
  const notes = r.evidence.filter((e) => typeof (e.data as { summary?: unknown } | null)?.summary === 'string')
  if (!notes.length) return ''
  const rows = notes.map((e) => `<tr><td class="num">${esc(formatDuration(e.t))}</td><td>${esc(e.source)}</td><td>${esc(e.kind)}</td><td>${esc((e.data as { summary: string }).summary)}</td></tr>`)
  return `<section class="card" id="evidence"><h2>Evidence</h2><table><tr><th class="num">t</th><th>source</th><th>kind</th><th>what</th></tr>${rows.join('\n')}</table></section>`
}

function logCard(r: RunResult): string {
  // the run's own timeline merged with the timelines probes report (breaker states, leader changes)
  const probeEvents = r.probes.flatMap((p) => {
    const tl = (p.details as { timeline?: { t: number; event: string }[] } | undefined)?.timeline
    return Array.isArray(tl) ? tl.filter((e) => !e.event.startsWith('fault ')).map((e) => ({ t: e.t, event: `${p.name}: ${e.event}` })) : []
  })
  const evidence = r.evidence.filter((e) => e.kind !== 'cluster-view').map((e) => ({ t: e.t, event: `${e.source}: ${e.kind}` }))
  const rows = [...r.timeline, ...probeEvents, ...evidence].sort((a, b) => a.t - b.t).map((e) => `<tr><td class="num">${esc(formatDuration(e.t))}</td><td>${esc(e.event)}</td></tr>`)
  return `<section class="card" id="log"><details><summary><b>Event log</b> — ${rows.length} entries on the run clock</summary><table><tr><th class="num">t</th><th>event</th></tr>${rows.join('\n')}</table></details></section>`
}
