/**
 * report.html: one self-contained page (no script, no external asset) an SRE can attach to a
 * game-day write-up — verdicts, faults, and each continuous probe's per-second figures drawn
 * against the fault windows on the run's clock.
 */
import type { RunResult, ProbeVerdict } from './result.ts'
import { formatMetric } from '../experiment/tolerance.ts'
import { formatDuration } from '../util/duration.ts'

const esc = (s: unknown) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

interface Window {
  from: number
  to: number
  label: string
}

function faultWindows(r: RunResult): Window[] {
  const end = r.durationMs ?? Math.max(0, ...r.timeline.map((e) => e.t))
  return r.faults.map((f) => {
    const from = r.timeline.find((e) => e.event.startsWith(`inject ${f.type}`) && e.event.includes(f.targets.map((t) => t.id).join(', ')))?.t ?? 0
    return { from, to: from + (f.heldMs ?? end - from), label: `${f.type} → ${f.targets.map((t) => t.id).join(', ')}` }
  })
}

/** one SVG chart per numeric series of a probe, x = run clock (s) */
function chart(p: ProbeVerdict, key: string, windows: Window[]): string {
  const points = (p.series ?? []).filter((s) => typeof s[key] === 'number')
  if (points.length < 2 || p.startedT === undefined) return ''
  const W = 720
  const H = 140
  const pad = 34
  const xs = points.map((s) => p.startedT! / 1000 + s.t)
  const ys = points.map((s) => s[key])
  const x0 = Math.min(...xs, ...windows.map((w) => w.from / 1000))
  const x1 = Math.max(...xs, ...windows.map((w) => w.to / 1000))
  const y1 = key === 'successRate' ? 1 : Math.max(...ys) * 1.1 || 1
  const y0 = key === 'successRate' ? Math.min(0.9, ...ys) : 0
  const X = (x: number) => pad + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * pad)
  const Y = (y: number) => H - pad / 2 - ((y - y0) / (y1 - y0 || 1)) * (H - pad)
  const bands = windows.map((w) => `<rect x="${X(w.from / 1000)}" y="0" width="${Math.max(1, X(w.to / 1000) - X(w.from / 1000))}" height="${H}" fill="#f8d7da"><title>${esc(w.label)}</title></rect>`).join('')
  const line = points.map((s, i) => `${X(xs[i]).toFixed(1)},${Y(s[key]).toFixed(1)}`).join(' ')
  return `<figure><figcaption>${esc(p.name)} — ${esc(key)} per second (red: faults active)</figcaption>
<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">${bands}
<polyline fill="none" stroke="#1f6feb" stroke-width="1.5" points="${line}"/>
<text x="2" y="12" font-size="10">${esc(formatMetric(key, y1))}</text><text x="2" y="${H - 4}" font-size="10">${esc(formatMetric(key, y0))}</text>
<text x="${W - pad}" y="${H - 4}" font-size="10" text-anchor="end">${x1.toFixed(0)} s</text></svg></figure>`
}

export function htmlReport(r: RunResult): string {
  const windows = faultWindows(r)
  const color = r.status === 'passed' ? '#1a7f37' : r.status === 'deviated' ? '#cf222e' : r.status === 'inconclusive' ? '#6e7781' : '#9a6700'
  const probes = r.probes
    .map((p) => {
      const tol = p.tolerances.map((t) => `<li class="${t.ok ? 'ok' : 'bad'}"><code>${esc(t.tolerance)}</code> → ${esc(formatMetric(t.metric, t.actual))}${t.reason ? ` (${esc(t.reason)})` : ''}</li>`).join('')
      const vio = [...p.violations.map((v) => `<li class="bad">${esc(v)}</li>`), ...(p.inconclusive ?? []).map((w) => `<li class="unknown">inconclusive: ${esc(w)}</li>`)].join('')
      return `<tr><td>${esc(p.phase)}</td><td>${esc(p.name)}<br><small>${esc(p.type)}</small></td><td class="${p.verdict === 'pass' ? 'ok' : p.verdict === 'fail' ? 'bad' : 'unknown'}">${p.verdict}</td><td><ul>${tol}${vio}</ul></td></tr>`
    })
    .join('\n')
  const charts = r.probes
    .filter((p) => p.phase === 'during')
    .flatMap((p) => ['successRate', 'p99', 'healthyNodes'].map((k) => chart(p, k, windows)))
    .join('\n')
  const faults = r.faults
    .map((f) => `<tr><td>${esc(f.type)}</td><td>${esc(f.path)}</td><td>${esc(f.targets.map((t) => `${t.id}${t.az ? ` (${t.az})` : ''}`).join(', '))}</td><td>${esc(f.injectedAt ?? '—')}</td><td>${esc(f.revertedAt ?? '—')}</td><td>${f.heldMs !== undefined ? esc(formatDuration(f.heldMs)) : '—'}</td><td>${esc(f.state)}</td></tr>`)
    .join('\n')
  // the run's own timeline merged with the timelines probes report (breaker states, leader changes)
  const probeEvents = r.probes.flatMap((p) => {
    const tl = (p.details as { timeline?: { t: number; event: string }[] } | undefined)?.timeline
    return Array.isArray(tl) ? tl.filter((e) => !e.event.startsWith('fault ')).map((e) => ({ t: e.t, event: `${p.name}: ${e.event}` })) : []
  })
  const timeline = [...r.timeline, ...probeEvents]
    .sort((a, b) => a.t - b.t)
    .map((e) => `<tr><td>${esc(formatDuration(e.t))}</td><td>${esc(e.event)}</td></tr>`)
    .join('\n')
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(r.experiment)} — ${esc(r.status)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #d0d7de;padding:4px 8px;vertical-align:top;text-align:left}
.ok{color:#1a7f37}.bad{color:#cf222e}.unknown{color:#6e7781}ul{margin:0;padding-left:1.2em}h1 span{color:${color}}figure{margin:1em 0}small{color:#57606a}</style></head><body>
<h1>${esc(r.experiment)} — <span>${esc(r.status)}</span></h1>
<p>run <code>${esc(r.runId)}</code> · environment ${esc(r.environment)} · seed ${r.seed} · started ${esc(r.startedAt)} · ${r.durationMs !== undefined ? esc(formatDuration(r.durationMs)) : 'incomplete'}</p>
${r.reason ? `<p><strong>${esc(r.reason)}</strong></p>` : ''}
<h2>Faults</h2>${faults ? `<table><tr><th>fault</th><th>step</th><th>targets</th><th>injected</th><th>reverted</th><th>held</th><th>state</th></tr>${faults}</table>` : '<p>No fault was injected.</p>'}
<h2>Probes</h2><table><tr><th>phase</th><th>probe</th><th>verdict</th><th>tolerances</th></tr>${probes}</table>
${charts ? `<h2>Through the method</h2>${charts}` : ''}
<h2>Timeline</h2><table><tr><th>t</th><th>event</th></tr>${timeline}</table>
</body></html>
`
}
