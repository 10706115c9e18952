/**
 * A linearizability counterexample drawn as operations on a time axis, as Porcupine's
 * visualisation does: one row per client process, each operation a bar from its invocation to its
 * completion; the longest linearizable prefix numbered in the order it takes effect, the operation
 * that cannot follow it in red, the concurrent ones that could not be placed before it in amber.
 *
 * The probe journals the counterexample as the checker prints it (formatCounterexample), so that
 * text is parsed back here; a test holds the parser to the checker's real output.
 */
import type { Json } from '../api/fault.ts'
import type { ProbeVerdict } from './result.ts'

export interface CxOp {
  process: number
  /** the model's description of the op, with its status: `cas(3→0) ok`, `read("k1") → 4` */
  text: string
  /** history time (ms since the history's origin); an indeterminate op returns at +Infinity */
  call: number
  return: number
  line?: number
  role: 'linearized' | 'blocked' | 'pending'
  /** 1-based position in the linearization (linearized ops only) */
  order?: number
  stateBefore?: string
  stateAfter?: string
}

export interface DrawnCounterexample {
  partition?: string
  /** linearized ops before the shown ones */
  omitted: number
  ops: CxOp[]
  /** run clock (ms) of the history's time 0, when the probe gave it */
  originT?: number
  lines: string[]
}

const TIME = String.raw`([\d.]+|∞)`
const OP_LINE = new RegExp(String.raw`^\s*(✗ )?p(\d+) (.+?)  \[t=${TIME}\.\.${TIME}\](?:  \(line (\d+)\))?(?:  state (.+))?$`)
const time = (s: string) => (s === '∞' ? Infinity : Number(s))

/** The checker's printed counterexample, back into operations; undefined when the lines are not one. */
export function parseCounterexample(lines: readonly string[]): DrawnCounterexample | undefined {
  const header = /^counterexample(?: \((.+)\))?:/.exec(lines[0] ?? '')
  if (!header) return undefined
  const cx: DrawnCounterexample = { ...(header[1] ? { partition: header[1] } : {}), omitted: 0, ops: [], lines: [...lines] }
  let pending = false
  let order = 0
  for (const line of lines.slice(1)) {
    const omitted = /^\s*… (\d+) earlier operation/.exec(line)
    if (omitted) {
      cx.omitted = Number(omitted[1])
      continue
    }
    if (/concurrent operations that could not be placed/.test(line)) {
      pending = true
      continue
    }
    const m = OP_LINE.exec(line)
    if (!m) continue
    const [, blocked, process, text, call, ret, srcLine, state] = m
    const op: CxOp = { process: Number(process), text, call: time(call), return: time(ret), role: blocked ? 'blocked' : pending ? 'pending' : 'linearized' }
    if (srcLine) op.line = Number(srcLine)
    if (op.role === 'linearized') {
      op.order = cx.omitted + ++order
      const [before, after] = (state ?? '').split(' → ')
      if (state) Object.assign(op, { stateBefore: before, ...(after !== undefined ? { stateAfter: after } : {}) })
    } else if (state?.startsWith('was ')) op.stateBefore = state.slice(4)
    cx.ops.push(op)
  }
  return cx.ops.some((o) => o.role === 'blocked') ? cx : undefined
}

/** The counterexample a correctness probe returned in its details, placed on the run clock when it can be. */
export function counterexampleOf(p: ProbeVerdict): DrawnCounterexample | undefined {
  const d = p.details
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return undefined
  const lines = (d as { [k: string]: Json }).counterexample
  if (!Array.isArray(lines) || !lines.every((l) => typeof l === 'string')) return undefined
  const cx = parseCounterexample(lines as string[])
  const origin = (d as { [k: string]: Json }).historyOrigin
  const t = typeof origin === 'object' && origin !== null && !Array.isArray(origin) ? origin.t : undefined
  if (cx && typeof t === 'number') cx.originT = t
  return cx
}

const esc = (s: unknown) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/**
 * Porcupine-style SVG: a row per process, a bar per operation. As in Porcupine, the axis steps
 * from one invocation or answer to the next rather than by real time, so operations a few
 * microseconds long stay as readable as those that waited a second; the real times label it.
 */
export function counterexampleSvg(cx: DrawnCounterexample, id = 'cx'): string {
  // the process labels sit in their own column, outside the scrolling part
  const left = 8
  const right = 24
  const rowH = 30
  const top = 12
  const events = [...new Set(cx.ops.flatMap((o) => [o.call, o.return]).filter(Number.isFinite))].sort((a, b) => a - b)
  const rank = new Map(events.map((t, i) => [t, i]))
  // an op with no answer runs one step past the last event
  const rankOf = (t: number) => (Number.isFinite(t) ? rank.get(t)! : events.length)
  const charW = 6.7
  const need = Math.max(...cx.ops.map((o) => ((o.role === 'linearized' ? 26 : 12) + charW * (o.text.length + 2)) / Math.max(1, rankOf(o.return) - rankOf(o.call))))
  const slot = Math.min(64, Math.max(26, need))
  const W = Math.max(1040, left + right + (events.length + 1) * slot)
  const X = (t: number) => left + rankOf(t) * slot + slot / 2

  // rows: one per process, a second one when a process has overlapping operations
  const rows: { process: number; ends: number[] }[] = []
  const placed = [...cx.ops]
    .sort((a, b) => a.process - b.process || a.call - b.call)
    .map((op) => {
      let row = rows.find((r) => r.process === op.process && r.ends.at(-1)! < op.call)
      if (!row) rows.push((row = { process: op.process, ends: [] }))
      row.ends.push(op.return)
      return { op, row: rows.indexOf(row) }
    })
  const H = top + rows.length * rowH + 34
  // real times under the axis, as many as fit
  const every = Math.max(1, Math.ceil(78 / slot))
  const ticks = events.map((t, i) => {
    const label = i % every === 0 ? `<text x="${X(t)}" y="${H - 14}" class="cx-tick">${esc(fmtMs(t))}</text>` : ''
    return `<line x1="${X(t)}" x2="${X(t)}" y1="${top - 6}" y2="${H - 30}" class="cx-grid"/>${label}`
  })
  const labels = rows.map((r, i) => `<text x="40" y="${top + i * rowH + rowH / 2 + 4}" class="cx-proc">p${r.process}</text>`)
  const bars = placed.map(({ op, row }, i) => {
    const x = X(op.call) - slot * 0.3
    const w = Math.max(slot * 0.6, X(op.return) - X(op.call) + slot * 0.6)
    const y = top + row * rowH + 4
    const open = !Number.isFinite(op.return)
    const title = [
      `p${op.process} ${op.text}`,
      `t=${fmtMs(op.call)} … ${open ? '∞ (no answer: may take effect any time after its call, or never)' : fmtMs(op.return)}`,
      op.role === 'linearized' ? `takes effect #${op.order}: state ${op.stateBefore} → ${op.stateAfter}` : '',
      op.role === 'blocked' ? `cannot follow the prefix: the state was ${op.stateBefore}` : '',
      op.role === 'pending' ? 'concurrent: could not be placed before it either' : '',
      op.line ? `history line ${op.line}` : '',
    ]
      .filter(Boolean)
      .join('\n')
    const badge = op.role === 'linearized' ? `<circle cx="${x + 10}" cy="${y + 11}" r="8" class="cx-badge"/><text x="${x + 10}" y="${y + 15}" class="cx-badge-t">${op.order}</text>` : ''
    const textX = op.role === 'linearized' ? x + 22 : x + 5
    const clip = `${id}-${i}`
    return (
      `<g class="cx-op cx-${op.role}${open ? ' cx-open' : ''}" data-role="${op.role}"><title>${esc(title)}</title>` +
      `<clipPath id="${clip}"><rect x="${x}" y="${y}" width="${w - 3}" height="${rowH - 8}"/></clipPath>` +
      `<rect x="${x}" y="${y}" width="${w}" height="${rowH - 8}" rx="4"/>${badge}<text x="${textX}" y="${y + 15}" class="cx-label" clip-path="url(#${clip})">${esc((op.role === 'blocked' ? '✗ ' : '') + op.text)}</text></g>`
    )
  })
  // the order the prefix takes effect in, joined by a thin line
  const order = placed
    .filter((p) => p.op.role === 'linearized')
    .sort((a, b) => a.op.order! - b.op.order!)
    .map((p) => `${X(p.op.call) - slot * 0.3 + 10},${top + p.row * rowH + 15}`)
  const path = order.length > 1 ? `<polyline points="${order.join(' ')}" class="cx-order"/>` : ''
  const origin = cx.originT !== undefined ? `; t=0 is the run's ${(cx.originT / 1000).toFixed(2)}s` : ''
  const caption = `history time in ms, one step per invocation or answer (not to scale${origin})${cx.partition ? ` · ${cx.partition}` : ''}${cx.omitted ? ` · ${cx.omitted} earlier operation(s) linearized before #${cx.omitted + 1}` : ''}`
  return `<p class="cx-caption">${esc(caption)}</p><div class="cx-box"><svg class="cx-procs" width="48" height="${H}" aria-hidden="true">${labels.join('')}</svg><div class="cx-scroll"><svg class="counterexample" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="counterexample${cx.partition ? ` for ${esc(cx.partition)}` : ''}">
${ticks.join('')}${path}${bars.join('')}</svg></div></div>`
}

function fmtMs(t: number): string {
  return Math.abs(t) >= 10_000 ? `${(t / 1000).toFixed(2)}s` : `${Number.isInteger(t) ? t : t.toFixed(t < 100 ? 2 : 1)}ms`
}
