/**
 * A generated single-key compare-and-set history (JSONL, the format of checkers/history-formats/
 * jsonl.ts): `processes` clients each with one operation open at a time, reads, writes and
 * CAS over a few values, linearized at their completion (so the history is linearizable), with
 * a few indeterminate (`info`) writes (1% by default). Seeded: the same arguments give the same file.
 */
import { createRng } from '../src/util/rng.ts'
import { LineFileWriter } from '../src/util/line-file.ts'

class HistoryFile extends LineFileWriter {
  line(text: string): void {
    this.append(text)
  }
}

export function generateCasHistory(path: string, operations: number, opts: { processes?: number; seed?: number; infoRate?: number } = {}): void {
  const rng = createRng(opts.seed ?? 7)
  const P = opts.processes ?? 8
  const w = new HistoryFile(path, 'w', 'history')
  w.comment(`generated: ${operations} operations on one key, ${P} processes`)
  type Open = { f: 'read' | 'write' | 'cas'; value: unknown }
  const open: (Open | undefined)[] = Array.from({ length: P }, () => undefined)
  let register: number | null = null
  let started = 0
  let time = 0
  let pending = 0
  while (started < operations || pending > 0) {
    time += 1 + rng.int(3)
    const p = rng.int(P)
    const o = open[p]
    if (!o) {
      if (started >= operations) continue
      const roll = rng.next()
      const next: Open =
        roll < 0.5 ? { f: 'read', value: null } : roll < 0.75 ? { f: 'write', value: rng.int(5) } : { f: 'cas', value: [rng.int(5), rng.int(5)] }
      w.line(`{"process":${p},"type":"invoke","f":"${next.f}","key":"k","value":${JSON.stringify(next.value)},"time":${time}}\n`)
      open[p] = next
      started++
      pending++
      continue
    }
    // completes now, linearized at this instant
    let type = 'ok'
    let value: unknown = o.value
    if (o.f === 'read') value = register
    else if (o.f === 'write') {
      if (rng.next() < (opts.infoRate ?? 0.01)) type = 'info'
      if (type === 'ok' || rng.next() < 0.5) register = o.value as number
    } else {
      const [from, to] = o.value as [number, number]
      if (register === from) register = to
      else type = 'fail'
    }
    w.line(`{"process":${p},"type":"${type}","f":"${o.f}","key":"k","value":${JSON.stringify(value)},"time":${time}}\n`)
    open[p] = undefined
    pending--
  }
  w.close()
}
