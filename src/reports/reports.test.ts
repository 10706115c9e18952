/** Reports are derived from the journal alone, and say what a crashed run left. */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { JournalWriter } from '../journal/journal.ts'
import { writeReports } from './write.ts'

function journal(write: (j: JournalWriter) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-reports-'))
  const j = new JournalWriter(join(dir, 'journal.jsonl'))
  j.append({ type: 'run.started', runId: 'r', experiment: 'exp<1>', experimentFile: 'x.yaml', environment: 'local', environmentFile: 'l.yaml', seed: 9, gameday: '0', host: 'h', pid: 1 })
  write(j)
  j.close()
  return dir
}

const verdict = (verdict: 'pass' | 'fail') => ({
  type: 'probe.verdict' as const,
  probe: 'slo',
  probeType: 'request-slo',
  phase: 'during' as const,
  verdict,
  metrics: { successRate: 0.97, p99: 12 },
  tolerances: [{ tolerance: 'successRate >= 99%', metric: 'successRate', ok: verdict === 'pass', actual: 0.97, expected: 0.99 }],
  violations: [],
  series: [{ t: 0, successRate: 1, p99: 3, requests: 10 }, { t: 1, successRate: 0.9, p99: 20, requests: 10 }],
})

describe('reports', () => {
  it('writes result.json, junit.xml (one case per verdict), summary.md and report.html from the journal', () => {
    const dir = journal((j) => {
      j.append({ type: 'probe.started', probe: 'slo', probeType: 'request-slo', phase: 'during' })
      j.append({ type: 'fault.injecting', faultId: 'f1', fault: 'nats.kill-node', path: 'method[0]', selector: { role: 'jetstream-meta-leader' }, params: {}, targets: [{ kind: 'node', id: 'n3', az: 'az-b' }] })
      j.append({ type: 'fault.injected', faultId: 'f1', revert: null, tookMs: 1 })
      j.append({ type: 'fault.reverted', faultId: 'f1', tookMs: 2 })
      j.append(verdict('fail'))
      j.append({ type: 'run.ended', status: 'deviated', tookMs: 100 })
    })
    const result = writeReports(dir)
    expect(result).toMatchObject({ status: 'deviated', seed: 9, faults: [{ type: 'nats.kill-node', state: 'reverted', targets: [{ id: 'n3' }] }] })
    expect(result.probes[0].startedT).toBeGreaterThanOrEqual(0)
    const junit = readFileSync(join(dir, 'junit.xml'), 'utf8')
    expect(junit).toContain('tests="1" failures="1"')
    expect(junit).toContain('<failure message="successRate &gt;= 99%: actual 97.00%')
    expect(junit).toContain('name="exp&lt;1&gt;"')
    expect(readFileSync(join(dir, 'summary.md'), 'utf8')).toContain('| nats.kill-node | method[0] | n3 (az-b) |')
    const html = readFileSync(join(dir, 'report.html'), 'utf8')
    expect(html).toContain('<h1>exp&lt;1&gt;</h1>')
    expect(html).toContain('<div class="v">DEVIATED</div>')
    // self-contained: uPlot and the data inlined, nothing fetched
    expect(html).toContain('id="gameday-data"')
    expect(html).toContain('data-chart="c0-0"')
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)=/)
  })

  it('says a run without run.ended is incomplete, and points at recover', () => {
    const dir = journal((j) => {
      j.append({ type: 'fault.injecting', faultId: 'f1', fault: 'nats.kill-node', path: 'method[0]', selector: {}, params: {}, targets: [{ kind: 'node', id: 'n1' }] })
    })
    const result = writeReports(dir)
    expect(result.status).toBe('incomplete')
    expect(result.reason).toMatch(/gameday recover/)
    expect(result.faults[0].state).toBe('injecting')
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toContain('<error message="incomplete')
  })

  it('shows an inconclusive verdict apart: its own pill and reason, the score kept, the confidence lowered', () => {
    const dir = journal((j) => {
      j.append({ type: 'probe.started', probe: 'slo', probeType: 'request-slo', phase: 'during' })
      j.append({ ...verdict('pass'), verdict: 'inconclusive', inconclusive: ['no request was in flight at any stop'] })
      j.append({ type: 'run.ended', status: 'inconclusive', tookMs: 100 })
    })
    writeReports(dir)
    const html = readFileSync(join(dir, 'report.html'), 'utf8')
    expect(html).toContain('<div class="verdict inconclusive" id="verdict"><div class="v">INCONCLUSIVE</div>')
    expect(html).toContain('<span class="pill pill-inconclusive">? inconclusive</span>')
    expect(html).toContain('no request was in flight at any stop')
    // the score rests on no conclusive verdict here: none, and no confidence
    expect(html).toContain('not scored: no verdict rests on evidence')
    const md = readFileSync(join(dir, 'summary.md'), 'utf8')
    expect(md).toContain('**Inconclusive** (no evidence either way: lowers confidence, not the score)')
  })

  it('keeps what runs wrote inert in the page: names cannot close the data block or open a tag', () => {
    const name = 'slo</script><img src=x onerror=alert(1)>'
    const dir = journal((j) => {
      j.append({ type: 'probe.started', probe: name, probeType: 'request-slo', phase: 'during' })
      j.append({ ...verdict('fail'), probe: name })
      j.append({ type: 'run.ended', status: 'deviated', tookMs: 100 })
    })
    writeReports(dir)
    const html = readFileSync(join(dir, 'report.html'), 'utf8')
    expect(html).not.toContain('<img src=x')
    const data = /<script type="application\/json" id="gameday-data">(.*?)<\/script>/s.exec(html)![1]
    expect(JSON.parse(data).charts[0].probe).toBe(name)
  })
})
