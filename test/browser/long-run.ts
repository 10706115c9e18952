/**
 * The journal of a long game day, generated (seeded): a 30-minute method with five probes running
 * through it — three request SLOs (a point a second each), a cluster watch (two samples a
 * second), a circuit breaker with its state changes — six node kills with leader elections and
 * recoveries, a Redis throttle, task stops, and the per-second samples the engine journals. What
 * a real run of that length writes, for the report's size and rendering figures.
 */
import { writeFileSync } from 'node:fs'
import { createRng } from '../../src/util/rng.ts'

const START = Date.parse('2026-12-01T10:00:00.000Z')

export function longRunJournal(file: string, opts: { minutes?: number; seed?: number } = {}): { events: number; bytes: number } {
  const minutes = opts.minutes ?? 30
  const rng = createRng(opts.seed ?? 42)
  const lines: string[] = []
  const at = (t: number) => new Date(START + t).toISOString()
  const add = (t: number, e: Record<string, unknown>) => lines.push(JSON.stringify({ at: at(t), t: Math.round(t * 10) / 10, ...e }))
  const methodStart = 20_000
  const methodEnd = methodStart + minutes * 60_000

  add(0.4, {
    type: 'run.started',
    runId: '20261201T100000Z-long-gameday-bnch',
    experiment: 'long-gameday',
    experimentFile: 'experiments/long-gameday.yaml',
    environment: 'local',
    environmentFile: 'environments/local.yaml',
    seed: 42,
    gameday: '0.1.0',
    host: 'bench',
    pid: 1,
  })
  add(9000, { type: 'environment.up', tookMs: 8990, startedByRun: true })
  add(9001, { type: 'phase.started', phase: 'steady-state-before' })
  add(9002, { type: 'probe.started', probe: 'cluster-health', probeType: 'nats-cluster-health', phase: 'before' })
  add(9100, {
    type: 'probe.verdict',
    probe: 'cluster-health',
    probeType: 'nats-cluster-health',
    phase: 'before',
    verdict: 'pass',
    metrics: { healthy: true },
    tolerances: [{ tolerance: 'healthy == true', metric: 'healthy', actual: true, expected: true, ok: true }],
    violations: [],
  })
  add(methodStart - 1, { type: 'phase.started', phase: 'method' })

  const loads = ['gateway-slo', 'inventory-slo', 'player-state-slo']
  const all = [...loads, 'cluster-watch', 'breaker']
  for (const p of all)
    add(methodStart, {
      type: 'probe.started',
      probe: p,
      probeType: p === 'cluster-watch' ? 'nats-cluster-health' : p === 'breaker' ? 'circuit-breaker' : 'request-slo',
      phase: 'during',
    })

  // faults: a node kill every 5 minutes, a Redis throttle in the middle, a task stop near the end
  const faults: { id: string; type: string; target: string; from: number; to: number }[] = []
  for (let k = 0; k < minutes / 5; k++)
    faults.push({
      id: `k${k}`,
      type: 'nats.kill-node',
      target: `n${(k % 5) + 1}`,
      from: methodStart + k * 300_000 + 60_000,
      to: methodStart + k * 300_000 + 90_000,
    })
  faults.push({ id: 'r', type: 'redis.throttle', target: 'cache', from: methodStart + 150_000, to: methodStart + 210_000 })
  const inFault = (t: number) => faults.find((f) => t >= f.from && t < f.to)

  const events: [number, Record<string, unknown>][] = []
  for (const f of faults) {
    events.push([
      f.from,
      {
        type: 'fault.injecting',
        faultId: f.id,
        fault: f.type,
        path: `method[${f.id}]`,
        selector: {},
        params: {},
        targets: [{ kind: f.type === 'redis.throttle' ? 'cache' : 'node', id: f.target, cluster: 'core' }],
      },
    ])
    events.push([f.from + 8, { type: 'fault.injected', faultId: f.id, revert: null, tookMs: 8 }])
    events.push([f.to, { type: 'fault.reverted', faultId: f.id, tookMs: 40 }])
    if (f.type === 'nats.kill-node') {
      events.push([
        f.from + 5000 + rng.int(1500),
        {
          type: 'evidence',
          kind: 'meta-leader-change',
          source: 'probe:cluster-watch',
          data: { from: f.target, to: `n${((Number(f.target.slice(1)) + 1) % 5) + 1}` },
        },
      ])
      const after = 500 + rng.int(1500)
      events.push([
        f.to + after,
        {
          type: 'evidence',
          kind: 'recovery',
          source: 'probe:cluster-watch',
          data: { afterRevertMs: after, unhealthyOnTheWay: [], summary: `healthy ${(after / 1000).toFixed(1)}s after the revert` },
        },
      ])
    }
  }
  const stopAt = methodEnd - 120_000
  events.push([
    stopAt + 900,
    {
      type: 'evidence',
      kind: 'task.stopped',
      source: 'fault',
      data: {
        service: 'ai-integration',
        task: 'ai-integration-1',
        action: 'stop',
        requestedAt: at(stopAt),
        exitedAfterMs: 60,
        replacement: 'ai-integration-3',
        replacementReadyMs: 1100,
        summary: 'ai-integration-1: SIGTERM → exited 0; replacement ai-integration-3 ready after 1.10s',
      },
    },
  ])

  // the per-second samples the engine journals while the probes run, and the probes' own series
  const seconds = Math.floor((methodEnd - methodStart) / 1000)
  const series: Record<string, Record<string, number>[]> = Object.fromEntries(all.map((p) => [p, []]))
  for (let s = 0; s < seconds; s++) {
    const t = methodStart + s * 1000
    const f = inFault(t)
    for (const p of loads) {
      const bad = f && f.type === 'nats.kill-node' && t - f.from < 6000 ? rng.int(20) : 0
      const requests = 100
      series[p].push({
        t: s,
        requests,
        ok: requests - bad,
        errors: bad,
        successRate: (requests - bad) / requests,
        p50: 6 + rng.next() * 3,
        p99: 20 + rng.next() * (f ? 300 : 40),
      })
      events.push([
        t + 1000,
        { type: 'probe.sample', probe: p, phase: 'during', metrics: { rps: requests, successRate: (requests - bad) / requests, p99: 30, inFlight: 1 } },
      ])
    }
    for (const half of [0, 0.5]) {
      const down = f && f.type === 'nats.kill-node' && t - f.from < 12_000
      series['cluster-watch'].push({ t: s + half, healthy: down ? 0 : 1, healthyNodes: down ? 4 : 5, routesFull: down ? 0 : 1 })
    }
    series.breaker.push({ t: s, requests: 50, ok: 50, errors: 0, successRate: 1, p50: 5, p99: f?.type === 'redis.throttle' ? 210 : 12 })
    events.push([t + 1000, { type: 'probe.sample', probe: 'cluster-watch', phase: 'during', metrics: { healthy: true, healthyNodes: 5, metaLeader: 'n1' } }])
  }
  const throttle = faults.find((f) => f.type === 'redis.throttle')!
  const timeline: { t: number; event: string }[] = []
  for (const task of ['ai-integration-1', 'ai-integration-2']) {
    for (let t = throttle.from + 2500; t < throttle.to; t += 2200) {
      timeline.push({ t, event: `breaker ${task} → open` }, { t: t + 2000, event: `breaker ${task} → half-open` })
    }
    timeline.push({ t: throttle.to + 700, event: `breaker ${task} → closed` })
  }
  events.sort((a, b) => a[0] - b[0])
  for (const [t, e] of events) add(t, e)

  const tol = (tolerance: string, metric: string, actual: number, expected: number) => ({ tolerance, metric, actual, expected, ok: true })
  const verdictAt = methodEnd + 500
  add(methodEnd, { type: 'phase.ended', phase: 'method', ok: true })
  for (const p of loads) {
    add(verdictAt, {
      type: 'probe.verdict',
      probe: p,
      probeType: 'request-slo',
      phase: 'during',
      verdict: 'pass',
      metrics: { successRate: 0.998, p99: 180 },
      tolerances: [tol('successRate >= 95%', 'successRate', 0.998, 0.95), tol('p99 < 2s', 'p99', 180, 2000)],
      violations: [],
      series: series[p],
    })
  }
  add(verdictAt, {
    type: 'probe.verdict',
    probe: 'cluster-watch',
    probeType: 'nats-cluster-health',
    phase: 'during',
    verdict: 'pass',
    metrics: { metaLeaderChanges: 6, recoveryMs: 1900 },
    tolerances: [tol('recoveryMs < 30s', 'recoveryMs', 1900, 30000)],
    violations: [],
    series: series['cluster-watch'],
  })
  add(verdictAt, {
    type: 'probe.verdict',
    probe: 'breaker',
    probeType: 'circuit-breaker',
    phase: 'during',
    verdict: 'pass',
    metrics: { opensWithinMs: 2500 },
    tolerances: [tol('opensWithinMs < 5s', 'opensWithinMs', 2500, 5000)],
    violations: [],
    series: series.breaker,
    details: { timeline },
  })
  add(verdictAt + 10, { type: 'phase.started', phase: 'steady-state-after' })
  add(verdictAt + 100, {
    type: 'probe.verdict',
    probe: 'cluster-health',
    probeType: 'nats-cluster-health',
    phase: 'after',
    verdict: 'pass',
    metrics: { healthy: true },
    tolerances: [{ tolerance: 'healthy == true', metric: 'healthy', actual: true, expected: true, ok: true }],
    violations: [],
  })
  add(verdictAt + 600, { type: 'run.ended', status: 'passed', tookMs: Math.round(verdictAt + 600) })
  const text = lines.join('\n') + '\n'
  writeFileSync(file, text)
  return { events: lines.length, bytes: Buffer.byteLength(text) }
}
