/** Two runs of one experiment: what changed, in the terminal and as a page; and the index of a reports folder. */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fixture, fixturePath, type FixtureName } from './fixtures.ts'
import { compareRuns, compareText, headline } from './compare.ts'
import { comparePage } from './compare-page.ts'
import { compareCommand, indexCommand } from './commands.ts'
import { findRuns, loadRun } from './runs.ts'

function reportsDir(names: FixtureName[]): { dir: string; runs: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-compare-'))
  const runs = names.map((name) => {
    const run = join(dir, name)
    mkdirSync(run)
    cpSync(fixturePath(name), join(run, 'journal.jsonl'))
    return run
  })
  return { dir, runs }
}

describe('compare', () => {
  it('names what broke between a passed and a deviated run of the same experiment', () => {
    const c = compareRuns(fixture('redis-throttle.passed'), fixture('redis-throttle.no-breaker'))
    expect(c.sameExperiment).toBe(true)
    expect(c.newDeviations).toEqual([
      'during · breaker: opensWithinMs < 5s — no value (metric "opensWithinMs" has no value (no samples))',
      'during · breaker: openP99 < 100ms — no value (metric "openP99" has no value (no samples))',
      'during · breaker: closesWithinMs < 10s — no value (metric "closesWithinMs" has no value (no samples))',
    ])
    expect(c.fixedDeviations).toEqual([])
    expect(c.verdicts.filter((v) => v.a !== v.b)).toEqual([{ phase: 'during', probe: 'breaker', a: 'pass', b: 'fail' }])
    expect(headline(c)).toMatch(/^3 new deviation\(s\); 0 fixed; score 100 → \d+/)
    const [throttle] = c.recoveries
    expect(throttle.a!.lastBack).toBe('breakers closed')
    expect(throttle.b!.signals.map((s) => s.text)).toContain('breaker: no breaker opened')
  })

  it('names fixed deviations the other way round, and the change of a tightened tolerance', () => {
    const fixed = compareRuns(fixture('redis-throttle.no-breaker'), fixture('redis-throttle.passed'))
    expect(fixed.newDeviations).toEqual([])
    expect(fixed.fixedDeviations[0]).toMatch(/^during · breaker: opensWithinMs < 5s — now 2\.49s \(was no value/)
    const tightened = compareRuns(fixture('redis-throttle.passed'), fixture('redis-throttle.deviated'))
    const p99 = tightened.tolerances.find((t) => t.probe === 'breaker' && t.metric === 'openP99')!
    expect(p99).toMatchObject({ tolerance: 'openP99 < 100ms', toleranceB: 'openP99 < 5ms', change: 'new deviation', trend: 'worse' })
    expect(tightened.newDeviations).toContain('during · inventory-slo: p99 < 250ms — 436.0ms against < 250ms: 186.0ms over (1.74×)')
    const slo = tightened.tolerances.find((t) => t.probe === 'inventory-slo' && t.metric === 'p99')!
    expect(slo.delta).toBe('+420.6ms')
  })

  it('says so when the runs are not of the same experiment', () => {
    const c = compareRuns(fixture('nats-node-kill.passed'), fixture('redis-throttle.passed'))
    expect(c.sameExperiment).toBe(false)
    expect(compareText(c)).toMatch(/^redis-throttle \(A is nats-node-kill: not the same experiment\)/)
  })

  it('prints for a terminal and exits 1 on a new deviation, 0 without; writes the page with --html', () => {
    const { dir, runs } = reportsDir(['redis-throttle.passed', 'redis-throttle.no-breaker'])
    let text = ''
    const html = join(dir, 'compare.html')
    expect(compareCommand(runs[0], runs[1], { html, out: (t) => (text += t) })).toBe(1)
    expect(text).toContain('What changed: 3 new deviation(s); 0 fixed')
    expect(text).toMatch(/during {2}breaker {9}opensWithinMs < 5s {4}2\.49s ✓ +no value ✗ +new deviation/)
    const page = readFileSync(html, 'utf8')
    expect(page).toContain('<h2>What changed</h2>')
    expect(page).toContain('data-chart="o0"')
    expect(compareCommand(runs[1], runs[0], { out: () => {} })).toBe(0)
  })

  it('overlays each probe’s series of both runs from their first fault', () => {
    const page = comparePage(compareRuns(fixture('redis-throttle.passed'), fixture('redis-throttle.deviated')))
    const data = JSON.parse(/<script type="application\/json" id="gameday-data">(.*?)<\/script>/s.exec(page)![1]) as {
      relative: boolean
      charts: { title: string; lines: { label: string }[]; x: number[] }[]
    }
    expect(data.relative).toBe(true)
    const latency = data.charts.find((c) => c.title === 'inventory-slo · latency')!
    expect(latency.lines.map((l) => l.label)).toEqual(['A p50', 'B p50', 'A p99', 'B p99'])
    expect(latency.x.some((x) => x < 0) && latency.x.some((x) => x > 0)).toBe(true)
  })

  it('refuses what is not a run, with what to give instead', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gameday-compare-'))
    expect(() => loadRun(dir)).toThrow(/not a run \(no journal.jsonl or result.json there\); give a folder `gameday run` wrote/)
    writeFileSync(join(dir, 'journal.jsonl'), '{"type":"probe.started"}\n')
    expect(() => loadRun(dir)).toThrow(/cannot read the run: journal has no run.started event/)
  })
})

describe('index of a reports folder', () => {
  it('lists every run by experiment, newest first, with its verdict, score, trend and link', () => {
    const { dir } = reportsDir(['redis-throttle.passed', 'redis-throttle.no-breaker', 'redis-throttle.deviated', 'nats-node-kill.passed', 'kv-cas-under-kill.deviated'])
    mkdirSync(join(dir, 'not-a-run'))
    mkdirSync(join(dir, 'broken'))
    writeFileSync(join(dir, 'broken', 'journal.jsonl'), 'not json\n{}\n')
    let text = ''
    const file = indexCommand(dir, { out: (t) => (text += t) })
    expect(text).toMatch(/redis-throttle +3 run\(s\) {2}last deviated +score \d+/)
    expect(text).toMatch(/skipped .*broken: .*cannot read the run/)
    const page = readFileSync(file, 'utf8')
    expect(page.match(/<tr data-run=/g)).toHaveLength(5)
    expect(page).toContain('href="redis-throttle.deviated/journal.jsonl"')
    // a trend chart for the experiment with several runs, none for those with one
    expect(page.match(/data-chart="t\d"/g)).toHaveLength(1)
    expect(page).toContain('gameday compare ')
    // oldest first, by when they started
    expect(findRuns(dir).runs.map((r) => r.result.experiment)).toEqual(['redis-throttle', 'redis-throttle', 'nats-node-kill', 'redis-throttle', 'kv-cas-under-kill'])
  })

  it('says which folder is missing', () => {
    expect(() => indexCommand('/nonexistent/reports', { out: () => {} })).toThrow(/no such folder; give the folder runs are written to/)
  })
})
