/** junit.xml: one test case per probe verdict (and per fault that could not be reverted), for CI. */
import type { RunResult } from './result.ts'
import { formatMetric } from '../experiment/tolerance.ts'

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

export function junitXml(r: RunResult): string {
  const cases: string[] = []
  let failures = 0
  let errors = 0
  let skipped = 0
  for (const p of r.probes) {
    const name = `${p.phase}: ${p.name}`
    const figures = p.tolerances.map((t) => `${t.tolerance} (actual ${formatMetric(t.metric, t.actual, t.unit)})${t.ok ? '' : ' FAILED'}`).join('\n')
    let body = `<system-out>${esc(figures)}</system-out>`
    if (p.verdict === 'fail') {
      failures++
      const why = [...p.tolerances.filter((t) => !t.ok).map((t) => `${t.tolerance}: actual ${formatMetric(t.metric, t.actual, t.unit)}${t.reason ? ` (${t.reason})` : ''}`), ...p.violations].join('; ')
      body = `<failure message="${esc(why)}">${esc(figures)}</failure>` + body
    } else if (p.verdict === 'inconclusive') {
      // not a pass: the tolerances held on no evidence; CI shows it as skipped, with why
      skipped++
      body = `<skipped message="${esc(`inconclusive: ${(p.inconclusive ?? []).join('; ')}`)}"/>` + body
    }
    cases.push(`    <testcase classname="${esc(`${r.experiment}.${p.type}`)}" name="${esc(name)}">${body}</testcase>`)
  }
  for (const f of r.faults.filter((x) => x.state === 'revert-failed' || x.state === 'inject-failed')) {
    errors++
    cases.push(`    <testcase classname="${esc(`${r.experiment}.fault`)}" name="${esc(`${f.type} ${f.faultId}`)}"><error message="${esc(`${f.state}: ${f.error ?? ''}`)}"/></testcase>`)
  }
  if (r.status === 'errored' || r.status === 'aborted' || r.status === 'incomplete') {
    errors++
    cases.push(`    <testcase classname="${esc(r.experiment)}" name="run"><error message="${esc(`${r.status}: ${r.reason ?? ''}`)}"/></testcase>`)
  }
  const seconds = ((r.durationMs ?? 0) / 1000).toFixed(3)
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="gameday" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds}">`,
    `  <testsuite name="${esc(r.experiment)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds}" timestamp="${r.startedAt}">`,
    `    <properties><property name="runId" value="${esc(r.runId)}"/><property name="environment" value="${esc(r.environment)}"/><property name="seed" value="${r.seed}"/></properties>`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n')
}
