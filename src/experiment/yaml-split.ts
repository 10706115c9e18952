/**
 * Where a large YAML file can be cut into pieces that parse on their own: the items of each
 * top-level block sequence (`method:`, `load:`, …), found by one pass over the lines that tracks
 * quotes, flow brackets, comments and block scalars. A large experiment is almost all method, so
 * parsing it item chunk by item chunk keeps only one chunk's parser state alive at a time, and a
 * position is looked up in the one chunk that holds it.
 *
 * The scan is conservative: anything it does not follow for certain (tags, anchors, tabs in
 * indentation, document markers, a line it cannot place) means no split, and the caller reads
 * the file whole. A cut it got wrong cannot go unnoticed either: it leaves a quote, a bracket or
 * a sequence open in a chunk, which then fails to parse or has the wrong number of items (see
 * yaml-chunks.ts), and the file is read whole.
 */

/** A top-level key whose value is a block sequence, and where each of its items is written. */
export interface SplitSequence {
  key: string
  /** [start, end) offsets of each item in the text, end-exclusive, consecutive */
  items: { start: number; end: number }[]
}

export interface Split {
  sequences: SplitSequence[]
}

const SPACE = 32
const TAB = 9
const CR = 13

/** A plain top-level key with nothing after its colon but a comment: its value may be a block sequence below. */
const KEY_WITH_VALUE_BELOW = /^([A-Za-z_][\w.-]*)[ \t]*:[ \t]*(#.*)?\r?$/
const ITEM_START = /^-([ \t]|\r?$)/

export function splitTopLevelSequences(text: string): Split | undefined {
  const sequences: SplitSequence[] = []
  /** the top-level key whose value may be a block sequence (its first content line decides) */
  let candidate: string | undefined
  let current: (SplitSequence & { indent: number }) | undefined
  let quote: 0 | 34 | 39 = 0
  let flowDepth = 0
  /** while set, lines indented deeper than this (or blank) are a block scalar's content */
  let blockScalarParent: number | undefined
  let firstContent = true

  const closeSequence = (at: number) => {
    if (!current) return
    current.items.at(-1)!.end = at
    sequences.push({ key: current.key, items: current.items })
    current = undefined
  }

  for (let lineStart = 0; lineStart < text.length;) {
    let lineEnd = text.indexOf('\n', lineStart)
    if (lineEnd < 0) lineEnd = text.length
    const next = lineEnd + 1
    let indent = 0
    while (text.charCodeAt(lineStart + indent) === SPACE) indent++
    const first = text.charCodeAt(lineStart + indent)
    const blank = lineStart + indent >= lineEnd || first === CR
    if (blockScalarParent !== undefined) {
      if (blank || indent > blockScalarParent) {
        lineStart = next
        continue
      }
      blockScalarParent = undefined
    }
    const structural = quote === 0 && flowDepth === 0
    if (structural && !blank && first !== 35 /* # */) {
      if (first === TAB) return undefined // tabs never indent YAML: leave the error to the parser
      const line = text.slice(lineStart + indent, lineEnd)
      if (indent === 0 && (line.startsWith('---') || line.startsWith('...') || line.startsWith('%'))) {
        if (!(firstContent && /^---[ \t]*\r?$/.test(line))) return undefined
      } else if (indent === 0 && !ITEM_START.test(line)) {
        // a new top-level entry ends the sequence before it
        closeSequence(lineStart)
        candidate = KEY_WITH_VALUE_BELOW.exec(line)?.[1]
      } else if (candidate !== undefined && ITEM_START.test(line)) {
        current = { key: candidate, indent, items: [{ start: lineStart, end: lineStart }] }
        candidate = undefined
      } else if (current) {
        if (indent === current.indent && ITEM_START.test(line)) {
          current.items.at(-1)!.end = lineStart
          current.items.push({ start: lineStart, end: lineStart })
        } else if (indent <= current.indent) return undefined // not a line of this sequence: let the parser judge
      } else candidate = undefined
      firstContent = false
    }
    const state = scanLine(text, lineStart + indent, lineEnd, quote, flowDepth)
    if (!state) return undefined
    quote = state.quote
    flowDepth = state.flowDepth
    if (state.blockScalar) blockScalarParent = indent
    lineStart = next
  }
  if (quote !== 0 || flowDepth !== 0) return undefined
  closeSequence(text.length)
  return sequences.length ? { sequences } : undefined
}

/** Is the character before `i` where a YAML token may start (line start, whitespace, or a flow indicator)? */
function tokenStart(text: string, i: number, from: number): boolean {
  if (i === from) return true
  const c = text.charCodeAt(i - 1)
  return c === SPACE || c === TAB || c === 91 || c === 123 || c === 44 // [ { ,
}

/**
 * Follows one line's quotes, flow brackets and comments from the state the previous line left.
 * undefined: the line has what the scan does not follow (a tag or an anchor).
 */
function scanLine(
  text: string,
  from: number,
  end: number,
  quote: 0 | 34 | 39,
  flowDepth: number,
): { quote: 0 | 34 | 39; flowDepth: number; blockScalar: boolean } | undefined {
  for (let i = from; i < end; i++) {
    const c = text.charCodeAt(i)
    if (quote === 34) {
      if (c === 92) i++
      else if (c === 34) quote = 0
      continue
    }
    if (quote === 39) {
      if (c === 39) {
        if (text.charCodeAt(i + 1) === 39)
          i++ // '' is a quote inside the scalar
        else quote = 0
      }
      continue
    }
    // a closing bracket may follow a plain scalar directly: [a, b]
    if ((c === 93 || c === 125) && flowDepth > 0) {
      flowDepth--
      continue
    }
    if (!tokenStart(text, i, from)) continue
    if (c === 35) break // a comment to the end of the line
    if (c === 34 || c === 39) quote = c
    else if (c === 91 || c === 123) flowDepth++
    else if (c === 33 || c === 38)
      return undefined // ! a tag, & an anchor
    else if ((c === 124 || c === 62) && flowDepth === 0 && /^[|>][0-9+-]*[ \t]*(#.*)?\r?$/.test(text.slice(i, end))) {
      // | or > followed only by its indicators and a comment: a block scalar's content follows
      return { quote, flowDepth, blockScalar: true }
    }
  }
  return { quote, flowDepth, blockScalar: false }
}
