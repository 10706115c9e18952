/** summary.md: what a human reads first — verdict, faults against time, probe figures. */
import type { RunResult } from './result.ts'
import { formatMetric } from '../experiment/tolerance.ts'
import { formatDuration } from '../util/duration.ts'
import { readout, readoutMarkdown } from './readout.ts'

const VERDICT_CELL = { pass: '✅ pass', fail: '❌ fail', inconclusive: '❔ inconclusive' } as const

export function markdownSummary(r: RunResult): string {
  const icon = r.status === 'passed' ? '✅' : r.status === 'deviated' ? '❌' : r.status === 'inconclusive' ? '❔' : '⚠️'
  const out: string[] = [
    `# ${icon} ${r.experiment} — ${r.status}`,
    '',
    `| run | environment | seed | started | duration |`,
    `|---|---|---|---|---|`,
    `| \`${r.runId}\` | ${r.environment} | ${r.seed} | ${r.startedAt} | ${r.durationMs !== undefined ? formatDuration(r.durationMs) : '—'} |`,
    '',
  ]
  if (r.reason) out.push(`> ${r.reason}`, '')
  // the readout an SRE pastes: score, time to recover per fault, what deviated and by how much
  out.push('## Readout', '', readoutMarkdown(readout(r)))
  out.push('## Faults', '')
  if (!r.faults.length) out.push('No fault was injected.', '')
  else {
    out.push('| fault | step | targets | injected | reverted | held | state |', '|---|---|---|---|---|---|---|')
    for (const f of r.faults) {
      const targets = f.targets.map((t) => `${t.id}${t.az ? ` (${t.az})` : ''}${t.role ? ` [${t.role}]` : ''}`).join(', ')
      out.push(`| ${f.type} | ${f.path} | ${targets} | ${f.injectedAt ?? '—'} | ${f.revertedAt ?? '—'} | ${f.heldMs !== undefined ? formatDuration(f.heldMs) : '—'} | ${f.state}${f.error ? `: ${f.error}` : ''} |`)
    }
    out.push('')
  }
  // evidence that carries a one-line `summary` for humans (stop and replacement timings, reconnections)
  const notes = r.evidence.filter((e) => typeof (e.data as { summary?: unknown } | null)?.summary === 'string')
  if (notes.length) {
    out.push('## Evidence', '', '| t | source | kind | what |', '|---|---|---|---|')
    for (const e of notes) out.push(`| ${formatDuration(e.t)} | ${e.source} | ${e.kind} | ${(e.data as { summary: string }).summary} |`)
    out.push('')
  }
  out.push('## Probes', '', '| phase | probe | verdict | tolerances | key figures |', '|---|---|---|---|---|')
  for (const p of r.probes) {
    const tol = p.tolerances.map((t) => `${t.ok ? '✓' : '✗'} \`${t.tolerance}\` (${formatMetric(t.metric, t.actual, t.unit)})`).join('<br>')
    const keys = Object.entries(p.metrics)
      .filter(([k]) => !k.startsWith('errors.') || (p.metrics[k] as number) > 0)
      .slice(0, 12)
      .map(([k, v]) => `${k}=${formatMetric(k, v, p.units?.[k])}`)
      .join(', ')
    out.push(`| ${p.phase} | ${p.name} | ${VERDICT_CELL[p.verdict]} | ${tol || '—'}${[...p.violations, ...(p.inconclusive ?? []).map((w) => `inconclusive: ${w}`)].map((v) => `<br>${v}`).join('')} | ${keys} |`)
  }
  out.push('')
  const series = r.probes.filter((p) => p.phase === 'during' && p.series?.length && 'successRate' in (p.series[0] ?? {}))
  for (const p of series) {
    out.push(`### ${p.name} through the method (per second)`, '', '| s | requests | success | p99 |', '|---|---|---|---|')
    for (const s of p.series!) out.push(`| ${s.t} | ${s.requests} | ${formatMetric('successRate', s.successRate)} | ${formatMetric('p99', s.p99)} |`)
    out.push('')
  }
  if (r.guardrails.length) {
    out.push('## Guardrails tripped', '')
    for (const g of r.guardrails) out.push(`- ${g.at} ${g.guardrail}: ${g.detail}`)
    out.push('')
  }
  out.push('## Timeline', '', '| t | event |', '|---|---|')
  for (const e of r.timeline) out.push(`| ${formatDuration(e.t)} | ${e.event} |`)
  out.push('')
  return out.join('\n')
}
