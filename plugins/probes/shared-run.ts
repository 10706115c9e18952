/**
 * What the history-keeping probes (cas-correctness, jetstream-durability) share about their run,
 * beyond the cluster (cas/cluster.ts): a token that keeps this run's keys and subjects apart from
 * every other run's, the faults they heard for the verdict's timeline, and letting go of what they
 * hold when they close.
 */
import { randomBytes } from 'node:crypto'
import type { FaultEvent, Json } from '../../src/api/index.ts'

/** Unique per run and sortable by time: a prefix for keys, subjects and message ids. */
export function runToken(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`
}

/** A fault event with the wall-clock time the probe heard it. */
export type HeardFault = FaultEvent & { wall: string }

export function heardNow(e: FaultEvent): HeardFault {
  return { ...e, wall: new Date().toISOString() }
}

/** The faults heard, for the verdict's details: wall clock, run clock (s, one decimal), what and which. */
export function faultTimeline(faults: HeardFault[]): Json[] {
  return faults.map((f) => ({ at: f.wall, t: Math.round(f.at / 100) / 10, kind: f.kind, type: f.type, faultId: f.faultId }))
}

/**
 * close() of a probe: stops and closes what it holds, in order, each at most once more. Each step
 * may find its resource already closed (close() after stop(), or after a start that failed half
 * way), and nothing of the verdict depends on them any more: an error of one does not keep the
 * next from being released.
 */
export async function releaseAll(...steps: (() => unknown)[]): Promise<void> {
  for (const step of steps) {
    try {
      await step()
    } catch {
      // already stopped or closed: see above
    }
  }
}
