import { afterEach, describe, expect, it } from 'vitest'
import { OpenLoopLoad } from './open-loop.ts'
import { sleep } from '../util/abort.ts'

const answerSoon = () => new Promise<{ ok: true }>((resolve) => setTimeout(() => resolve({ ok: true }), 1))

let hog: NodeJS.Timeout | undefined
afterEach(() => clearInterval(hog))

/** Blocks this process's event loop for `busyMs` out of every `everyMs`: a runner starved of CPU. */
function starveTheRunner(busyMs: number, everyMs: number): void {
  hog = setInterval(() => {
    const until = performance.now() + busyMs
    while (performance.now() < until) {
      // spin: nothing else runs on this loop meanwhile
    }
  }, everyMs)
}

describe('the open-loop load watches its own lateness', () => {
  it('a runner that keeps up measures small schedule lag and loop delay, and trusts its latencies', async () => {
    // a generous bound: this only asserts that an idle runner is not flagged, on whatever machine runs the test
    const load = new OpenLoopLoad({ rate: 100, send: answerSoon, runnerBound: 500 })
    load.start()
    await sleep(1200)
    await load.stop()
    const m = load.metrics()
    expect(m.requests).toBeGreaterThanOrEqual(100)
    expect(m.scheduleLagP90).toBeLessThan(500)
    expect(m.loopDelayP90).toBeLessThan(500)
    expect(m.runnerBusySeconds).toBe(0)
    expect(load.untrustedBecause()).toEqual([])
    expect(load.series()[0]).toMatchObject({ scheduleLagMax: expect.any(Number), loopDelayP90: expect.any(Number) })
  })

  it('a starved runner sends late and its loop lags: its latencies are not trusted, and it says why', async () => {
    const load = new OpenLoopLoad({ rate: 100, send: answerSoon, runnerBound: 50 })
    starveTheRunner(150, 200)
    load.start()
    await sleep(2200)
    await load.stop()
    const m = load.metrics()
    expect(m.scheduleLagP90).toBeGreaterThan(50)
    expect(m.loopDelayP90).toBeGreaterThan(50)
    expect(m.runnerBusySeconds).toBeGreaterThanOrEqual(1)
    const [why] = load.untrustedBecause()
    expect(why).toMatch(
      /^the runner itself was overloaded — 10 % of its requests left over \d+ms after their intended time \(schedule lag p90\), its event loop ran \d+ms late at p90/,
    )
    expect(why).toMatch(/above the 50ms bound; late in \d+ of \d+ s .*latencies measured there are the runner's, not the system's$/)
    // latency is still measured from the intended send: the stall shows as latency, not as fewer requests
    expect(m.p99).toBeGreaterThan(50)
  })
})
