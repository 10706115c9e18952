/**
 * Linearizability checker: the Wing–Gong / Lowe (WGL) search with a cache of
 * (linearized set, model state), as Porcupine's `checkSingle`, over the partitions the model
 * defines (P-compositionality: a history is linearizable iff each partition is).
 *
 * The search walks a doubly-linked list of call/return entries sorted by time. At a call entry it
 * tries to linearize that op next: if the model accepts it and the (linearized ∪ {op}, state')
 * pair was never seen, the op is lifted out of the list (call and return entries) and pushed on a
 * stack; at a return entry it backtracks (that op had to be linearized before its return). An
 * empty list means every op found a place: linearizable. Backtracking out of an empty stack means
 * no order works: not linearizable.
 *
 * Speed: the list, stack and linearized set are typed arrays; the set's hash is kept incrementally
 * (Zobrist: one random 64-bit word per op, XOR on set/clear), so a cache probe costs O(1) plus a
 * bitset compare on a 64-bit hash hit. Nothing is allocated in the loop except cache entries.
 *
 * Indeterminate (`info`) ops return at +Infinity (Knossos / Porcupine): they may take effect any
 * time after their call, or never. They have no return entry: their calls sit in a second list,
 * tried after the completed ops' calls at each point, and once every completed op has a place the
 * remaining ones are left out: linearizable.
 *
 * Three sound prunings on top of Porcupine's search, each cross-checked against a brute-force
 * search in the tests:
 * - an indeterminate op whose step would leave the state unchanged is not placed there;
 * - a read-only op (a read, a failed cas) legal in the current state is never tried later: once
 *   (L ∪ {op}, s) failed, (L, s) fails, so backtracking pops on through it;
 * - likewise on a cache hit for (L ∪ {op}, s) with op read-only, (L, s) fails at once.
 * On the etcd corpus they cut the search from ~815,000 steps to ~43,000.
 *
 * Budget: the search runs in slices (round-robin across partitions) and checks the clock and the
 * AbortSignal every 1024 steps; when the budget is spent the verdict is `unknown`, never a pass.
 */
import { ILLEGAL, type CheckOptions, type CheckResult, type Counterexample, type CounterexampleOp, type Model, type Operation } from './model.ts'

const NIL = -1
/** `match` of an indeterminate op's call node */
const INFO = -2
const MAIN_HEAD = 0
const INFO_HEAD = 1
const SLICE_MS = 25

/** Deterministic 32-bit random words for the Zobrist hash (splitmix32). */
function zobristWords(count: number, seed: number): Int32Array {
  const out = new Int32Array(count)
  let s = seed >>> 0
  for (let i = 0; i < count; i++) {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    out[i] = z ^ (z >>> 16)
  }
  return out
}

/**
 * Partitions up to this many operations keep the linearized set itself in the cache (an exact
 * compare); larger ones keep its 96-bit Zobrist fingerprint only. A bitset per entry costs n/8
 * bytes — 12.5 KB at 100,000 operations, gigabytes over a search — while a fingerprint collision
 * has a probability of about entries² / 2^97 (1e-17 at a million entries) and could only prune a
 * branch (a false "not linearizable"), never pass a history.
 */
export const EXACT_CACHE_MAX_OPS = 4096

/**
 * Set of (linearized set, state) pairs: chained hash table on typed arrays; bitsets (when
 * exact) live in one growable arena. States are always compared exactly.
 */
class StateCache<S> {
  private buckets: Int32Array
  private mask: number
  private chain: Int32Array
  private h1s: Int32Array
  private h2s: Int32Array
  private h3s: Int32Array
  private bits: Uint32Array
  private states: S[] = []
  size = 0

  constructor(
    private readonly words: number,
    private readonly equal: (a: S, b: S) => boolean,
  ) {
    const cap = 1024
    this.buckets = new Int32Array(cap * 2).fill(NIL)
    this.mask = cap * 2 - 1
    this.chain = new Int32Array(cap)
    this.h1s = new Int32Array(cap)
    this.h2s = new Int32Array(cap)
    this.h3s = new Int32Array(cap)
    this.bits = new Uint32Array(cap * words)
  }

  /**
   * Is (lin ∪ {bit}, state) in the cache? If not, adds it and returns false. `h1`, `h2` hash
   * the set with the bit and the state together, `h3` the set alone. With `words` 0 the set is
   * known by its fingerprint only.
   */
  containsOrAdd(lin: Uint32Array, bit: number, h1: number, h2: number, h3: number, state: S): boolean {
    const words = this.words
    const bitWord = bit >>> 5
    const bitMask = 1 << (bit & 31)
    for (let e = this.buckets[h1 & this.mask]; e !== NIL; e = this.chain[e]) {
      if (this.h1s[e] !== h1 || this.h2s[e] !== h2 || this.h3s[e] !== h3) continue
      const base = e * words
      let same = true
      for (let w = 0; w < words; w++) {
        const expect = w === bitWord ? (lin[w] | bitMask) >>> 0 : lin[w]
        if (this.bits[base + w] !== expect) {
          same = false
          break
        }
      }
      if (same && this.equal(this.states[e], state)) return true
    }
    this.add(lin, bitWord, bitMask, h1, h2, h3, state)
    return false
  }

  private add(lin: Uint32Array, bitWord: number, bitMask: number, h1: number, h2: number, h3: number, state: S): void {
    const e = this.size
    if (e === this.chain.length) this.grow()
    if (this.words > 0) {
      const base = e * this.words
      for (let w = 0; w < this.words; w++) this.bits[base + w] = lin[w]
      this.bits[base + bitWord] |= bitMask
    }
    this.h1s[e] = h1
    this.h2s[e] = h2
    this.h3s[e] = h3
    this.states.push(state)
    const b = h1 & this.mask
    this.chain[e] = this.buckets[b]
    this.buckets[b] = e
    this.size = e + 1
  }

  private grow(): void {
    const cap = this.chain.length * 2
    const chain = new Int32Array(cap)
    const h1s = new Int32Array(cap)
    h1s.set(this.h1s)
    const h2s = new Int32Array(cap)
    h2s.set(this.h2s)
    const h3s = new Int32Array(cap)
    h3s.set(this.h3s)
    const bits = new Uint32Array(cap * this.words)
    bits.set(this.bits)
    const buckets = new Int32Array(cap * 2).fill(NIL)
    const mask = cap * 2 - 1
    for (let e = 0; e < this.size; e++) {
      const b = h1s[e] & mask
      chain[e] = buckets[b]
      buckets[b] = e
    }
    this.chain = chain
    this.h1s = h1s
    this.h2s = h2s
    this.h3s = h3s
    this.bits = bits
    this.buckets = buckets
    this.mask = mask
  }
}

type SearchOutcome = 'linearizable' | 'not-linearizable' | 'paused'

/** The longest partial linearization seen, and where it got stuck. */
interface Longest<S> {
  order: number[]
  states: S[] // states[i] = state before order[i]; states[order.length] = state after
  blocked: number
  pending: number[]
}

/** WGL search over one partition, resumable (it stops at a deadline and continues later). */
export class WglSearch<S, I, O> {
  readonly n: number
  // Nodes: 0 = head of the main list (calls and returns of completed ops, by time), 1 = head of
  // the info list (calls of indeterminate ops, by time; they have no return entry), then entries.
  private readonly next: Int32Array
  private readonly prev: Int32Array
  /** call node → its return node; INFO for an indeterminate op's call; NIL for a return node */
  private readonly match: Int32Array
  private readonly opOf: Int32Array
  /** rank of the node in time order, to compare info calls with the main list's first return */
  private readonly pos: Int32Array
  private readonly readOnly: Uint8Array
  private readonly z1: Int32Array
  private readonly z2: Int32Array
  private readonly z3: Int32Array
  private readonly lin: Uint32Array
  private readonly stackEntry: Int32Array
  private readonly stackState: S[]
  /** for an info op on the stack, the main list's first return entry when it was linearized */
  private readonly stackBoundary: Int32Array
  private readonly cache: StateCache<S>
  private readonly hashState: (s: S) => number
  // loop state between slices
  private entry: number
  private inInfo = false
  private boundary = NIL
  private state: S
  private top = 0
  private h1 = 0
  private h2 = 0
  private h3 = 0
  steps = 0
  // The longest partial linearization so far, kept incrementally: a new record copies only the
  // stack entries pushed since the last one (from `dirty`), so recording is linear over a whole
  // search rather than quadratic (100,000 ops deep, each new record used to copy the stack).
  private longestLen = -1
  private readonly longestOrder: Int32Array
  private readonly longestStates: S[]
  private longestBlocked = NIL
  private longestPending: number[] = []
  private dirty = 0
  outcome: SearchOutcome = 'paused'

  constructor(
    private readonly model: Model<S, I, O>,
    readonly ops: readonly Operation<I, O>[],
    readonly label?: string,
  ) {
    const n = ops.length
    this.n = n
    const size = 2 * n + 2
    const next = (this.next = new Int32Array(size).fill(NIL))
    const prev = (this.prev = new Int32Array(size).fill(NIL))
    const match = (this.match = new Int32Array(size).fill(NIL))
    const opOf = (this.opOf = new Int32Array(size).fill(NIL))
    const pos = (this.pos = new Int32Array(size))
    this.readOnly = new Uint8Array(n)
    for (let id = 0; id < n; id++) {
      const c = ops[id].call
      const r = ops[id].return
      if (!(r >= c)) throw new Error(`operation ${id} (line ${ops[id].line ?? '?'}) returns before its call`)
      if (model.readOnly?.(ops[id])) this.readOnly[id] = 1
    }
    // entries k < n are calls of op k, k >= n returns of op k - n; sorted by time, calls first at
    // equal times (such ops count as concurrent)
    const order = new Int32Array(2 * n)
    for (let i = 0; i < 2 * n; i++) order[i] = i
    const time = (k: number) => (k < n ? ops[k].call : ops[k - n].return)
    order.sort((a, b) => {
      const ta = time(a)
      const tb = time(b)
      if (ta !== tb) return ta < tb ? -1 : 1
      const ka = a < n ? 0 : 1
      const kb = b < n ? 0 : 1
      if (ka !== kb) return ka - kb
      return a - b
    })
    const nodeOfReturn = new Int32Array(n).fill(NIL)
    let mainTail = 0
    let infoTail = 1
    for (let i = 0; i < 2 * n; i++) {
      const node = i + 2
      const k = order[i]
      const id = k < n ? k : k - n
      opOf[node] = id
      pos[node] = i
      if (ops[id].return === Infinity) {
        if (k >= n) continue // an indeterminate op has no return entry
        match[node] = INFO
        next[infoTail] = node
        prev[node] = infoTail
        infoTail = node
      } else {
        if (k >= n) nodeOfReturn[id] = node
        next[mainTail] = node
        prev[node] = mainTail
        mainTail = node
      }
    }
    for (let node = 2; node < size; node++) {
      if (match[node] === NIL && opOf[node] !== NIL && node !== nodeOfReturn[opOf[node]]) {
        match[node] = nodeOfReturn[opOf[node]] // a completed op's call
      }
    }
    this.z1 = zobristWords(n, 0x2545f491)
    this.z2 = zobristWords(n, 0x6c8e9cf5)
    this.z3 = zobristWords(n, 0x1b873593)
    const words = Math.max(1, Math.ceil(n / 32))
    this.lin = new Uint32Array(words)
    this.stackEntry = new Int32Array(n)
    this.stackState = new Array<S>(n)
    this.stackBoundary = new Int32Array(n)
    this.longestOrder = new Int32Array(n)
    this.longestStates = new Array<S>(n + 1)
    this.cache = new StateCache<S>(n <= EXACT_CACHE_MAX_OPS ? words : 0, (a, b) => model.equal(a, b))
    this.hashState = model.hash ? (s: S) => model.hash!(s) : () => 0
    this.entry = next[0]
    this.state = model.init()
    // only indeterminate ops (or none): they may all never have happened
    if (next[0] === NIL) this.outcome = 'linearizable'
  }

  /**
   * Runs until decided or until `deadline` (performance.now() ms) / abort; returns the outcome.
   *
   * The candidates to linearize next are the calls before the first return entry of the main
   * list (the `boundary`): first the completed ops' calls, in time order, then the indeterminate
   * ops called before the boundary. (The order candidates are tried in does not change the
   * verdict; trying indeterminate ops last finds linearizations sooner, since most of them only
   * need to take effect to explain a later read.) When the main list is empty every completed op
   * has a place and the remaining indeterminate ops are left out: linearizable.
   */
  run(deadline: number, signal?: AbortSignal): SearchOutcome {
    if (this.outcome !== 'paused') return this.outcome
    const { next, prev, match, opOf, pos, readOnly, z1, z2, z3, lin, stackEntry, stackState, stackBoundary, cache, ops, model } = this
    const hashState = this.hashState
    let entry = this.entry
    let inInfo = this.inInfo
    let boundary = this.boundary
    let state = this.state
    let top = this.top
    let h1 = this.h1
    let h2 = this.h2
    let h3 = this.h3
    let dirty = this.dirty
    let steps = this.steps
    let outcome: SearchOutcome = 'paused'
    for (;;) {
      if ((++steps & 1023) === 0 && (performance.now() >= deadline || signal?.aborted)) break
      let ret = NIL
      if (!inInfo) {
        ret = match[entry]
        if (ret === NIL) {
          // the first return entry: now the indeterminate ops called before it
          boundary = entry
          inInfo = true
          entry = next[INFO_HEAD]
          continue
        }
      }
      if (inInfo && (entry === NIL || pos[entry] > pos[boundary])) {
        // no candidate left: the boundary's op had to be linearized by now
        if (top > this.longestLen) {
          this.recordLongest(boundary, top, state, dirty)
          dirty = top
        }
      } else {
        const id = opOf[entry]
        const after = model.step(state, ops[id])
        // An indeterminate op that would change nothing here is not worth placing here: whatever
        // works after it works without it (it may be left out, or placed later).
        if (after === ILLEGAL || (inInfo && (after === state || model.equal(after as S, state)))) {
          entry = next[entry]
          continue
        }
        const sh = Math.imul(hashState(after as S), 0x9e3779b1)
        const n1 = h1 ^ z1[id]
        const n2 = h2 ^ z2[id]
        const n3 = h3 ^ z3[id]
        if (!cache.containsOrAdd(lin, id, n1 ^ sh, (n2 + sh) | 0, n3, after as S)) {
          if (top < dirty) dirty = top
          stackEntry[top] = entry
          stackState[top] = state
          stackBoundary[top] = inInfo ? boundary : NIL
          top++
          state = after as S
          lin[id >>> 5] |= 1 << (id & 31)
          h1 = n1
          h2 = n2
          h3 = n3
          // lift the call (and its return) out of its list
          next[prev[entry]] = next[entry]
          if (next[entry] !== NIL) prev[next[entry]] = prev[entry]
          if (!inInfo) {
            next[prev[ret]] = next[ret]
            if (next[ret] !== NIL) prev[next[ret]] = prev[ret]
          }
          if (next[MAIN_HEAD] === NIL) {
            outcome = 'linearizable'
            break
          }
          entry = next[MAIN_HEAD]
          inInfo = false
          continue
        }
        if (readOnly[id] === 0) {
          entry = next[entry]
          continue
        }
        // (linearized ∪ {op}, state) was explored and failed, and op is read-only: then
        // (linearized, state) fails too (see below), so backtrack now
      }
      // Backtrack. A read-only op (one that leaves unchanged every state it is legal in: a read, a
      // failed cas) need not be tried later once it was legal now: any linearization from (L, s)
      // that places it later can place it first instead (it is legal in s, changes nothing, and
      // every op still pending returns after its call), so (L, s) fails as soon as (L ∪ {op}, s)
      // failed — keep popping. (An indeterminate cas is not read-only: it may take effect later.)
      let again = true
      while (again) {
        if (top === 0) {
          outcome = 'not-linearizable'
          break
        }
        top--
        entry = stackEntry[top]
        state = stackState[top]
        stackState[top] = undefined as S
        const id = opOf[entry]
        again = readOnly[id] === 1
        lin[id >>> 5] &= ~(1 << (id & 31))
        h1 ^= z1[id]
        h2 ^= z2[id]
        h3 ^= z3[id]
        // unlift: put the return, then the call, back where they were
        const r = match[entry]
        if (r !== INFO) {
          next[prev[r]] = r
          if (next[r] !== NIL) prev[next[r]] = r
        }
        next[prev[entry]] = entry
        if (next[entry] !== NIL) prev[next[entry]] = entry
        inInfo = r === INFO
        boundary = inInfo ? stackBoundary[top] : NIL
      }
      if (outcome !== 'paused') break
      entry = next[entry]
    }
    this.entry = entry
    this.inInfo = inInfo
    this.boundary = boundary
    this.state = state
    this.top = top
    this.h1 = h1
    this.h2 = h2
    this.h3 = h3
    this.dirty = dirty
    this.steps = steps
    this.outcome = outcome
    return outcome
  }

  get cacheSize(): number {
    return this.cache.size
  }

  private recordLongest(boundary: number, top: number, state: S, dirty: number): void {
    const from = Math.min(dirty, Math.max(this.longestLen, 0))
    for (let i = from; i < top; i++) {
      this.longestOrder[i] = this.opOf[this.stackEntry[i]]
      this.longestStates[i] = this.stackState[i]
    }
    this.longestStates[top] = state
    this.longestLen = top
    const blocked = (this.longestBlocked = this.opOf[boundary])
    const pending: number[] = []
    for (let e = this.next[MAIN_HEAD]; e !== NIL && e !== boundary; e = this.next[e]) {
      if (this.match[e] !== NIL && this.opOf[e] !== blocked) pending.push(this.opOf[e])
    }
    for (let e = this.next[INFO_HEAD]; e !== NIL && this.pos[e] < this.pos[boundary]; e = this.next[e]) {
      pending.push(this.opOf[e])
    }
    this.longestPending = pending
  }

  /** The longest partial linearization the search found, and where it got stuck (undefined before any). */
  get longest(): Longest<S> | undefined {
    if (this.longestLen < 0) return undefined
    return {
      order: Array.from(this.longestOrder.subarray(0, this.longestLen)),
      states: this.longestStates.slice(0, this.longestLen + 1),
      blocked: this.longestBlocked,
      pending: this.longestPending,
    }
  }

  /** The counterexample of a not-linearizable search, its prefix cut to the last `window` ops. */
  counterexample(window = 12): Counterexample {
    const longest = this.longest
    if (!longest) throw new Error('no counterexample: the search did not fail')
    const model = this.model
    const { order, states, blocked, pending } = longest
    const from = Math.max(0, order.length - window)
    const linearized: CounterexampleOp[] = []
    for (let i = from; i < order.length; i++) {
      const op = this.ops[order[i]]
      linearized.push({
        op: op as Operation,
        text: model.describeOperation(op),
        stateBefore: model.describeState(states[i]),
        stateAfter: model.describeState(states[i + 1]),
      })
    }
    const finalState = states[order.length]
    const stuck = (id: number): CounterexampleOp => {
      const op = this.ops[id]
      return { op: op as Operation, text: model.describeOperation(op), stateBefore: model.describeState(finalState) }
    }
    return {
      partition: this.label,
      linearized,
      omitted: from,
      blocked: stuck(blocked),
      pending: pending.map(stuck),
      state: model.describeState(finalState),
    }
  }
}

/** An operation the model does not know (e.g. a `get` checked against the cas-register model). */
export class InvalidOperationError extends Error {
  override name = 'InvalidOperationError'
  constructor(
    readonly op: Operation,
    readonly reason: string,
  ) {
    super(`${op.line !== undefined ? `line ${op.line}: ` : ''}${reason}`)
  }
}

/** Validates, splits with the model's partition, drops ops the model says constrain nothing. */
export function prepare<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[]) {
  if (model.validate) {
    for (const op of ops) {
      const problem = model.validate(op)
      if (problem !== undefined) throw new InvalidOperationError(op as Operation, problem)
    }
  }
  const relevant = model.relevant ? ops.filter((op) => model.relevant!(op)) : ops.slice()
  const parts = model.partition ? model.partition(relevant) : [relevant]
  return { relevant, parts: parts.filter((p) => p.length > 0) }
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Checks a history against a model. Resolves to `linearizable`, `not-linearizable` (with a
 * counterexample from the first failing partition) or `unknown` (budget spent or aborted before
 * every partition was decided and none failed).
 */
export async function checkOperations<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], opts: CheckOptions = {}): Promise<CheckResult> {
  const started = performance.now()
  const deadline = opts.budgetMs !== undefined ? started + opts.budgetMs : Infinity
  const { relevant, parts } = prepare(model, ops)
  if (relevant.length === 0) {
    // an empty history (or one of failed reads only) proves nothing: never a pass
    return { verdict: 'unknown', reason: 'no-operations', operations: 0, partitions: 0, undecided: 0, steps: 0, elapsedMs: performance.now() - started }
  }
  const searches = parts.map((p) => {
    const label = model.partition ? describePartition(model, p) : undefined
    return new WglSearch(model, p, label)
  })
  let open = searches.filter((s) => s.outcome === 'paused')
  let failed: WglSearch<S, I, O> | undefined
  let reason: CheckResult['reason']
  // round-robin slices, so that one hard partition cannot starve a failing one
  while (open.length > 0 && !failed) {
    if (opts.signal?.aborted) {
      reason = 'aborted'
      break
    }
    const now = performance.now()
    if (now >= deadline) {
      reason = 'budget'
      break
    }
    for (const s of open) {
      if (s.run(Math.min(deadline, performance.now() + SLICE_MS), opts.signal) === 'not-linearizable') {
        failed = s
        break
      }
    }
    open = open.filter((s) => s.outcome === 'paused')
    if (open.length > 0 && !failed) await yieldToEventLoop()
  }
  const steps = searches.reduce((sum, s) => sum + s.steps, 0)
  const base = {
    operations: relevant.length,
    partitions: searches.length,
    undecided: searches.filter((s) => s.outcome === 'paused').length,
    steps,
    elapsedMs: performance.now() - started,
  }
  if (failed) {
    return { verdict: 'not-linearizable', counterexample: failed.counterexample(opts.window), ...base }
  }
  if (open.length > 0) return { verdict: 'unknown', reason: reason ?? 'budget', ...base }
  return { verdict: 'linearizable', ...base }
}

function describePartition<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[]): string | undefined {
  if (model.describePartition) return model.describePartition(ops)
  const key = (ops[0]?.input as { key?: unknown } | undefined)?.key
  return key === undefined ? undefined : `key ${JSON.stringify(key)}`
}

function formatTime(t: number): string {
  if (t === Infinity) return '∞'
  return Number.isInteger(t) ? String(t) : t.toFixed(3)
}

/** `p2 cas(3→0) ok  [t=12.001..12.004]` */
export function formatOperation(model: Pick<Model, 'describeOperation'>, op: Operation): string {
  return `p${op.process} ${model.describeOperation(op)}  [t=${formatTime(op.call)}..${formatTime(op.return)}]`
}

/** Human-readable counterexample, one op a line. */
export function formatCounterexample(cx: Counterexample): string[] {
  const lines: string[] = []
  const at = (c: CounterexampleOp) =>
    `p${c.op.process} ${c.text}  [t=${formatTime(c.op.call)}..${formatTime(c.op.return)}]${c.op.line ? `  (line ${c.op.line})` : ''}`
  lines.push(`counterexample${cx.partition ? ` (${cx.partition})` : ''}: the longest linearizable prefix, then the operation that cannot follow it`)
  if (cx.omitted > 0) lines.push(`  … ${cx.omitted} earlier operation(s) linearized`)
  for (const c of cx.linearized) lines.push(`  ${at(c)}  state ${c.stateBefore} → ${c.stateAfter}`)
  lines.push(`  ✗ ${at(cx.blocked)}  state was ${cx.blocked.stateBefore}`)
  if (cx.pending.length > 0) {
    lines.push(`  concurrent operations that could not be placed before it either:`)
    for (const c of cx.pending) lines.push(`    ${at(c)}`)
  }
  return lines
}
