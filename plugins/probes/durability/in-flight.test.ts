import { describe, expect, it } from 'vitest'
import { InFlightWindow } from './in-flight.ts'

describe('operations a kill met', () => {
  it('counts what was in flight at any moment of the window before the injection was reported, not what ended before or began after', () => {
    let now = 0
    const w = new InFlightWindow(100, () => now)
    const op = (from: number, to?: number) => {
      now = from
      const done = w.begin()
      return () => {
        now = to ?? now
        done()
      }
    }
    const endedLongBefore = op(100)
    const endedInWindow = op(850)
    const stillRunning = op(990)
    const startedAfter = op(1_010)
    now = 200
    endedLongBefore()
    now = 905
    endedInWindow()
    expect(w.injected(1_000, 'nats.kill-node')).toEqual({ t: 1_000, type: 'nats.kill-node', inFlight: 2 })
    void stillRunning
    void startedAfter
    expect(w.injected(5_000, 'nats.kill-node').inFlight).toBe(2) // the two never answered
    expect(w.kills.map((k) => k.inFlight)).toEqual([2, 2])
  })

  it('keeps only what a later window can reach', () => {
    let now = 0
    const w = new InFlightWindow(50, () => now)
    for (let i = 0; i < 10_000; i++) {
      now = i
      w.begin()()
    }
    now = 10_000
    expect(w.injected(10_000, 'x').inFlight).toBe(50)
  })
})
