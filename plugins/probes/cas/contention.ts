/**
 * Contention mode: Jepsen finds a non-atomic compare-and-set by contention, not by volume. A
 * read-compare-write race needs two CAS on one key inside the window between the read and the
 * write — sub-millisecond in a service — which a random mix at tens of operations per second
 * almost never produces. So, in rounds, on each of a few keys:
 *
 *   1. every contender reads the key (they see one version: nobody else writes it);
 *   2. they meet at a barrier (all reads answered);
 *   3. all compare-and-set at once, each from the version it read, to a value of its own.
 *
 * Exactly one may win. Two winners from one version are two acknowledged updates one of which
 * overwrote the other unseen; the linearizability checker rejects the history, and the workload
 * names the pair (sameVersionCas). The counter takes part as one more key: every contender tries
 * `+1` from the value it read, so a second winner is an increment lost.
 *
 * Operations go through the workload's `execute`, so the history is the same JSONL as in mixed
 * mode. When a key gathers as many indeterminate CAS as there are contenders (a fault
 * took a round's answers), its rounds move to a fresh key: each indeterminate CAS stays pending
 * to the end of its key's history, and the checker's search grows with them.
 */
import { COUNTER_KEY, type CasWorkload } from './workload.ts'
import { sleep } from '../../../src/api/index.ts'
import type { Versioned } from './stores.ts'

export interface ContentionOptions {
  /** clients that contend on each key every round */
  contenders: number
  /** rounds per second, all keys together */
  rate: number
  /** register keys; the counter (when on) contends too */
  keys: string[]
  counter: boolean
}

export interface ContentionStats {
  /** rounds whose reads were answered while the load ran (a round cut short by the stop is not one) */
  rounds: number
  /** rounds where at least two CAS left one version at once */
  contendedRounds: number
  /** rounds where more than one CAS from one version was acknowledged */
  severalWinners: number
  /** the first such round: its number and when it ended (ms since the workload's origin) */
  firstSeveralWinners?: { round: number; key: string; winners: number; atMs: number }
  /** rounds where no contender could read the key (a fault): no CAS was sent */
  unreadRounds: number
  /** keys abandoned for a fresh one after too many indeterminate operations */
  keysRetired: number
}

interface Contender {
  process: number
}

interface Slot {
  /** the logical key (k0, counter) and the key its rounds use now (k0, k0-g1 …) */
  logical: string
  current: string
  generation: number
  indeterminate: number
  contenders: Contender[]
}

export class ContentionRounds {
  readonly stats: ContentionStats = { rounds: 0, contendedRounds: 0, severalWinners: 0, unreadRounds: 0, keysRetired: 0 }
  private readonly slots: Slot[]

  constructor(
    private readonly workload: CasWorkload,
    private readonly opts: ContentionOptions,
  ) {
    const logical = [...opts.keys, ...(opts.counter ? [COUNTER_KEY] : [])]
    this.slots = logical.map((key) => ({
      logical: key,
      current: key,
      generation: 0,
      indeterminate: 0,
      contenders: Array.from({ length: opts.contenders }, () => ({ process: workload.newProcess() })),
    }))
  }

  /** One loop per key, each running its rounds one after the other at rate / keys per second. */
  loops(): Promise<void>[] {
    const interval = (1000 * this.slots.length) / this.opts.rate
    return this.slots.map((slot, i) => this.loop(slot, interval, (interval * i) / this.slots.length))
  }

  private async loop(slot: Slot, interval: number, offset: number): Promise<void> {
    let next = performance.now() + offset
    while (this.workload.isRunning) {
      const wait = next - performance.now()
      if (wait > 0) await sleep(wait)
      if (!this.workload.isRunning) break
      await this.round(slot)
      next = Math.max(next + interval, performance.now())
    }
  }

  private async round(slot: Slot): Promise<void> {
    const key = slot.current
    const counter = slot.logical === COUNTER_KEY
    // 1–2: every contender reads; Promise.all is the barrier
    const reads = await Promise.all(
      slot.contenders.map(async (c) => {
        const r = await this.workload.execute(c.process, { f: 'read', key })
        // a read with no answer constrains nothing (the checker drops it), but ends its process
        if (r.status === 'info') c.process = this.workload.newProcess()
        return r.status === 'ok' ? r.read : undefined
      }),
    )
    // the load stopped while they read: the method is over, no CAS of this round belongs in it
    if (!this.workload.isRunning) return
    const round = ++this.stats.rounds
    const ready = slot.contenders.flatMap((c, i) => (reads[i] ? [{ c, seen: reads[i] }] : []))
    if (ready.length === 0) {
      this.stats.unreadRounds++
      return
    }
    const byVersion = new Map<number, number>()
    for (const { seen } of ready) byVersion.set(seen.version, (byVersion.get(seen.version) ?? 0) + 1)
    if (Math.max(...byVersion.values()) >= 2) this.stats.contendedRounds++
    // 3: every contender that read sends its CAS in this same tick
    const outcomes = await Promise.all(
      ready.map(async ({ c, seen }) => {
        const to = counter ? (seen.value ?? 0) + 1 : this.workload.nextRegisterValue()
        const r = await this.workload.execute(c.process, { f: 'cas', key, expected: seen, to })
        if (r.status === 'info') {
          slot.indeterminate++
          // like a crashed Jepsen process: an operation with an unknown outcome ends its process
          c.process = this.workload.newProcess()
        }
        return { seen, ok: r.status === 'ok' }
      }),
    )
    this.countWinners(slot, round, outcomes)
    if (slot.indeterminate >= this.opts.contenders) this.retire(slot)
  }

  private countWinners(slot: Slot, round: number, outcomes: { seen: Versioned; ok: boolean }[]): void {
    const winners = new Map<number, number>()
    for (const o of outcomes) if (o.ok) winners.set(o.seen.version, (winners.get(o.seen.version) ?? 0) + 1)
    const most = Math.max(0, ...winners.values())
    if (most < 2) return
    this.stats.severalWinners++
    this.stats.firstSeveralWinners ??= { round, key: slot.current, winners: most, atMs: this.workload.now() }
  }

  /** Moves a key's rounds to a fresh key; the old one is still read at the end. */
  private retire(slot: Slot): void {
    slot.generation++
    slot.current = `${slot.logical}-g${slot.generation}`
    slot.indeterminate = 0
    this.stats.keysRetired++
    this.workload.addKey(slot.current, slot.logical === COUNTER_KEY)
  }
}
