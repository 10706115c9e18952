/**
 * The comparison of two runs as a page: what changed at the top, then every tolerance before and
 * after, the time to recover per fault, and each probe's series of both runs drawn over each
 * other on a clock that starts at the first fault (T+0), so the dips line up.
 */
import type { RunResult } from './result.ts'
import { metricText } from './format.ts'
import type { Comparison, ToleranceChange } from './compare.ts'
import { headline, recoveryCell, scoreCell, tolText } from './compare.ts'
import { describeRecovery } from './recovery.ts'
import { probeCharts, type ChartSpec } from './series.ts'
import { faultLabel } from './events.ts'
import { esc, htmlPage, statusClass, verdictPill } from './page.ts'

const CHANGE_CLASS: Record<ToleranceChange['change'], string> = {
  'new deviation': 'fail',
  fixed: 'pass',
  'still deviated': 'fail',
  held: 'pass',
  'only in A': 'inconclusive',
  'only in B': 'inconclusive',
}

/** The first fault's injection: T+0 of the overlaid charts. */
function zeroOf(r: RunResult): number {
  const first = Math.min(...r.faults.map((f) => f.injectingT ?? Infinity))
  return Number.isFinite(first) ? first : (r.probes.find((p) => p.phase === 'during')?.startedT ?? Infinity)
}

/** Each probe both runs ran through the method, its series of A and B on one chart per unit. */
function overlayCharts(a: RunResult, b: RunResult): ChartSpec[] {
  const za = zeroOf(a) / 1000
  const zb = zeroOf(b) / 1000
  if (!Number.isFinite(za) || !Number.isFinite(zb)) return []
  const out: ChartSpec[] = []
  a.probes
    .filter((p) => p.phase === 'during')
    .forEach((pa, i) => {
      const pb = b.probes.find((p) => p.phase === 'during' && p.name === pa.name)
      if (!pb) return
      const ca = probeCharts(pa, i)
      const cb = probeCharts(pb, i)
      for (const chartA of ca) {
        const chartB = cb.find((c) => c.title === chartA.title)
        if (!chartB) continue
        // one x for both: the union of their times from T+0, each line null where it has no point
        // per-second buckets go on whole seconds from T+0, so both runs' values share a second (off by < 0.5s)
        const at1 = (x: number) => (chartA.step ? Math.round(x * 1000) / 1000 : Math.round(x))
        const xa = chartA.x.map((x) => at1(x - za))
        const xb = chartB.x.map((x) => at1(x - zb))
        const x = [...new Set([...xa, ...xb])].sort((m, n) => m - n)
        const at = (xs: number[], values: (number | null)[]) => {
          const byX = new Map(xs.map((v, k) => [v, values[k]]))
          return x.map((v) => byX.get(v) ?? null)
        }
        const keys = chartA.lines.map((l) => l.key).filter((k) => chartB.lines.some((l) => l.key === k))
        out.push({
          ...chartA,
          id: `o${out.length}`,
          title: `${pa.name} · ${chartA.title}`,
          x,
          lines: keys.flatMap((k) => [
            { key: k, label: `A ${k}`, values: at(xa, chartA.lines.find((l) => l.key === k)!.values), color: '#8c959f', dash: [5, 4] },
            { key: k, label: `B ${k}`, values: at(xb, chartB.lines.find((l) => l.key === k)!.values) },
          ]),
          tolerances: chartB.tolerances,
          spanGaps: true,
        })
      }
    })
  return out
}

function windows(r: RunResult, run: 'A' | 'B') {
  const z = zeroOf(r)
  return r.faults
    .filter((f) => f.injectingT !== undefined)
    .map((f) => ({ from: (f.injectingT! - z) / 1000, to: ((f.revertedT ?? f.injectingT!) - z) / 1000, label: `${run}: ${faultLabel(f)}`, tone: 'fault' }))
}

export function comparePage(c: Comparison): string {
  const ra = c.a.result
  const rb = c.b.result
  const charts = overlayCharts(ra, rb)
  const all = [...windows(ra, 'A'), ...windows(rb, 'B')]
  const xs = charts.flatMap((ch) => [ch.x[0], ch.x.at(-1)!])
  const domain = { min: Math.floor(Math.min(...xs, ...all.map((w) => w.from))), max: Math.ceil(Math.max(...xs, ...all.map((w) => w.to))) }
  const runCell = (r: RunResult, o: Comparison['a'], label: string) =>
    `<div class="verdict ${statusClass(r.status)}"><div class="v">${label} · ${esc(r.status.toUpperCase())}</div><div class="score">${o.score.score ?? '—'}<small>/100</small></div><div class="conf">${esc(r.runId)}<br>${esc(r.startedAt)} · ${esc(scoreCell(o))}</div></div>`
  const changes = [
    ...c.newDeviations.map((d) => `<li><span class="pill pill-fail">new deviation</span> ${esc(d)}</li>`),
    ...c.fixedDeviations.map((d) => `<li><span class="pill pill-pass">fixed</span> ${esc(d)}</li>`),
  ]
  const tolRows = c.tolerances.map((t) => {
    const cell = (s: ToleranceChange['a']) => (s ? `<span class="${s.ok ? 'ok' : 'bad'}">${s.ok ? '✓' : '✗'} ${esc(metricText(t.metric, s.actual))}</span>` : '—')
    const delta = t.delta ? `<span class="${t.trend === 'worse' ? 'delta-bad' : t.trend === 'better' ? 'delta-good' : ''}">${esc(t.delta)}</span>` : ''
    return `<tr><td>${esc(t.phase)}</td><td><b>${esc(t.probe)}</b></td><td><code>${esc(tolText(t))}</code>${t.toleranceB ? ' <small class="muted">(changed)</small>' : ''}</td><td class="num">${cell(t.a)}</td><td class="num">${cell(t.b)}</td><td class="num">${delta}</td><td><span class="pill pill-${CHANGE_CLASS[t.change]}">${esc(t.change)}</span></td></tr>`
  })
  const recRows = c.recoveries.map(
    (r) =>
      `<tr><td><b>${esc(r.label)}</b><br><small class="muted">${esc(r.key.split(' ')[0])}</small></td><td>${esc(recoveryCell(r.a))}</td><td>${esc(recoveryCell(r.b))}${r.b ? `<br><small class="muted">${esc(describeRecovery(r.b))}</small>` : ''}</td><td class="num">${r.deltaMs === undefined ? '' : `<span class="${r.deltaMs > 0 ? 'delta-bad' : 'delta-good'}">${r.deltaMs >= 0 ? '+' : '−'}${esc((Math.abs(r.deltaMs) / 1000).toFixed(2))}s</span>`}</td></tr>`,
  )
  const verdictRows = c.verdicts.map(
    (v) => `<tr><td>${esc(v.phase)}</td><td><b>${esc(v.probe)}</b></td><td>${v.a ? verdictPill(v.a) : '—'}</td><td>${v.b ? verdictPill(v.b) : '—'}</td><td>${v.a !== v.b ? '<b>changed</b>' : ''}</td></tr>`,
  )
  const body = `<header class="hero"><div><div class="eyebrow">Game day comparison</div><h1>${esc(rb.experiment)}</h1>
<div class="meta">${c.sameExperiment ? 'two runs of the same experiment' : `<span class="bad">A is a run of ${esc(ra.experiment)}: not the same experiment</span>`}</div></div>
<div style="display:flex;gap:10px">${runCell(ra, c.a, 'A')}${runCell(rb, c.b, 'B')}</div></header>
<section class="card" id="changes"><h2>What changed</h2><p><b>${esc(headline(c))}</b></p>${changes.length ? `<ul class="plain">${changes.join('')}</ul>` : '<p class="muted">No tolerance changed its verdict.</p>'}</section>
<section class="card" id="tolerances"><h2>Tolerances, A → B</h2><table><tr><th>phase</th><th>probe</th><th>tolerance</th><th class="num">A</th><th class="num">B</th><th class="num">Δ</th><th>change</th></tr>${tolRows.join('\n')}</table></section>
${recRows.length ? `<section class="card" id="recovery"><h2>Time to recover per fault</h2><table><tr><th>fault</th><th>A</th><th>B</th><th class="num">Δ</th></tr>${recRows.join('\n')}</table></section>` : ''}
${charts.length ? `<section class="card" id="series"><h2>Through the method, A over B</h2><p class="hint">Both runs on one clock from their first fault (T+0), per-second figures on whole seconds. Dashed grey: A; solid: B. Shaded: the faults of both runs.</p>${charts.map((ch) => `<div class="chart" data-chart="${ch.id}"></div>`).join('')}</section>` : ''}
<section class="card" id="verdicts"><h2>Verdicts</h2><table><tr><th>phase</th><th>probe</th><th>A</th><th>B</th><th></th></tr>${verdictRows.join('\n')}</table></section>`
  return htmlPage({ title: `${rb.experiment}: A vs B`, body, data: { kind: 'compare', relative: true, domain, windows: all, markers: [], lanes: [], charts } })
}
