/**
 * YAML with positions: parse a file keeping a map from value paths to line:col, so every
 * error — syntax, schema or semantic — is reported as `file:line:col: message`.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs'
import { LineCounter, parseDocument, isCollection, isPair, visit, type Document } from 'yaml'
import { CORE_SCHEMA, load as loadYaml, mergeTag } from 'js-yaml'
import { ValidationError } from '../api/errors.ts'
import { MAX_SOURCE_BYTES, MAX_YAML_DEPTH } from './limits.ts'
import { splitTopLevelSequences } from './yaml-split.ts'
import { ChunkedYaml } from './yaml-chunks.ts'
import { offsetOfPath } from './yaml-path.ts'

/**
 * How a file is read. `items` names top-level sequences whose items are handed, as they are read,
 * to a function whose result stands in for each of them in toJS() — in a large file read in
 * chunks, a chunk's items are turned into the model while they are young, and the file is never
 * held whole as plain data. Nesting is checked before.
 */
export interface ReadOptions {
  items?: Record<string, (item: unknown, index: number) => unknown>
  /** files from this size on are read by the fast parser first (tests force either reader) */
  fastFromBytes?: number
}

export interface SourceIssue {
  file: string
  line: number
  col: number
  message: string
}

/** Files from this size on are read by the fast parser first (see YamlSource.parse). */
const FAST_PATH_MIN_BYTES = 64 * 1024
const FAST_SCHEMA = CORE_SCHEMA.withTags(mergeTag)

export class YamlSource {
  private parsed: { doc: Document.Parsed; lines: LineCounter } | undefined
  /** the document as plain data, aliases resolved */
  private value: unknown = undefined
  /** read in chunks: a path's position is looked up in the chunk that holds it, not in a document of the whole file */
  private chunks: ChunkedYaml | undefined

  private constructor(
    readonly file: string,
    private readonly text: string,
  ) {}

  /** Reads and parses a file; a file that cannot be read is a ValidationError with one issue at 1:1. */
  static read(file: string, options: ReadOptions = {}): YamlSource {
    return YamlSource.parse(file, readSourceText(file), options)
  }

  /**
   * A large file without aliases is read by js-yaml (YAML 1.2 core schema with merge keys,
   * duplicate keys refused): an order of magnitude faster and smaller than building the
   * positioned document. Where it can be cut (yaml-split.ts) it is read chunk by chunk, so the
   * parser never holds the whole file's events, and a problem's position is looked up in the
   * one chunk that holds it. Anything the fast reader refuses, and every small file, goes
   * through the positioned parser, which says where the problem is.
   */
  static parse(file: string, text: string, options: ReadOptions = {}): YamlSource {
    const readers = options.items ?? {}
    const source = new YamlSource(file, text)
    // Nesting the parser cannot survive (it runs out of stack, or of memory on deep indentation)
    // is refused before parsing, where it starts.
    const tooDeep = nestingBeyondBounds(text)
    if (tooDeep) {
      source.early = { file, ...offsetToLineCol(text, tooDeep.offset), message: tooDeep.message }
      return source
    }
    if (text.length >= (options.fastFromBytes ?? FAST_PATH_MIN_BYTES) && !ALIAS.test(text)) {
      const fast = readFast(text, readers)
      if (fast) {
        source.value = fast.value
        source.chunks = fast.chunks
        if (fast.deep) source.early = source.issue(fast.deep, TOO_DEEP)
        return source
      }
      // the positioned parser below says what is wrong, and where
    }
    const { doc, lines } = source.document()
    if (doc.errors.length) return source
    const deep = deepestBeyond(doc.contents, MAX_YAML_DEPTH)
    if (deep !== undefined) {
      const pos = lines.linePos(deep)
      source.early = { file, line: pos.line, col: pos.col, message: TOO_DEEP }
      return source
    }
    // Aliases are resolved here, once: an unresolvable one, or so many that they would expand
    // the document without bound (a "billion laughs"), is a positioned error, not a crash.
    try {
      source.value = readItemsOf(doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }), readers)
    } catch (err) {
      const pos = lines.linePos(firstAlias(doc) ?? 0)
      source.early = { file, line: pos.line, col: pos.col, message: `YAML aliases: ${(err as Error).message} (at most ${MAX_ALIAS_COUNT} alias expansions)` }
    }
    return source
  }

  /** The positioned document, parsed on first use. */
  private document(): { doc: Document.Parsed; lines: LineCounter } {
    if (!this.parsed) {
      const lines = new LineCounter()
      const doc = parseDocument(this.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true })
      this.parsed = { doc, lines }
    }
    return this.parsed
  }

  get doc(): Document.Parsed {
    return this.document().doc
  }

  /** a problem found before or instead of parsing (nesting beyond bounds) */
  private early: SourceIssue | undefined

  /** YAML syntax errors cascade: report the first one, where it is — the rest are its echo. */
  syntaxIssues(): SourceIssue[] {
    if (this.early) return [this.early]
    if (this.value !== undefined || !this.parsed) return []
    const first = this.parsed.doc.errors[0]
    if (!first) return []
    const pos = this.parsed.lines.linePos(first.pos[0])
    const more = this.parsed.doc.errors.length > 1 ? ` (and ${this.parsed.doc.errors.length - 1} more errors that may follow from it)` : ''
    return [{ file: this.file, line: pos.line, col: pos.col, message: `YAML syntax: ${first.message.split('\n')[0]}${more}` }]
  }

  /** The document as plain data; only meaningful when syntaxIssues() is empty. */
  toJS(): unknown {
    return this.value
  }

  /**
   * line:col for a value path: the key when the path ends on a mapping key (the line a human
   * looks at), the item for a sequence index, else the deepest existing ancestor.
   */
  position(path: readonly PropertyKey[]): { line: number; col: number } {
    if (this.chunks && !this.parsed) return this.lineCol(this.chunks.offsetOf(path))
    const { doc, lines } = this.document()
    const pos = lines.linePos(offsetOfPath(doc, path))
    return { line: pos.line, col: pos.col }
  }

  /** where each line starts, for the positions of a file read in chunks (built on the first problem) */
  private lineStarts: Int32Array | undefined

  private lineCol(offset: number): { line: number; col: number } {
    if (!this.lineStarts) {
      const starts = [0]
      for (let i = this.text.indexOf('\n'); i >= 0; i = this.text.indexOf('\n', i + 1)) starts.push(i + 1)
      this.lineStarts = Int32Array.from(starts)
    }
    // the last line starting at or before the offset
    let lo = 0
    let hi = this.lineStarts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (this.lineStarts[mid] <= offset) lo = mid
      else hi = mid - 1
    }
    return { line: lo + 1, col: offset - this.lineStarts[lo] + 1 }
  }

  issue(path: readonly PropertyKey[], message: string): SourceIssue {
    const { line, col } = this.position(path)
    return { file: this.file, line, col, message }
  }
}

export function formatIssue(issue: SourceIssue): string {
  return `${issue.file}:${issue.line}:${issue.col}: ${issue.message}`
}

/** An input file is read only when it is a regular file within MAX_SOURCE_BYTES. */
export function readSourceText(file: string): string {
  const refuse = (message: string, cause?: unknown): never => {
    throw new ValidationError(`${file}:1:1: ${message}`, [{ file, line: 1, col: 1, message }], cause ? { cause } : undefined)
  }
  let fd: number
  try {
    // non-blocking: opening a FIFO must not wait for a writer
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return refuse('no such file: check the path')
    if (code === 'EACCES' || code === 'EPERM') return refuse('permission denied: make the file readable')
    if (code === 'EISDIR') return refuse('is a directory: give a YAML file')
    return refuse(`cannot open: ${code ?? (err as Error).message}`, err)
  }
  try {
    const stat = fstatSync(fd)
    if (stat.isDirectory()) return refuse('is a directory: give a YAML file')
    if (!stat.isFile()) return refuse('is not a regular file (a device, pipe or socket): give a YAML file')
    if (stat.size > MAX_SOURCE_BYTES) {
      return refuse(`is ${(stat.size / 1048576).toFixed(1)} MB, more than the ${MAX_SOURCE_BYTES / 1048576} MB an input file may be`)
    }
    // read at most one byte past the bound: a file that grows while read is still bounded
    const buffer = Buffer.alloc(Math.min(stat.size, MAX_SOURCE_BYTES) + 1)
    let length = 0
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null)
      if (n === 0) break
      length += n
      if (length === buffer.length) break
    }
    if (length > MAX_SOURCE_BYTES) return refuse(`is more than the ${MAX_SOURCE_BYTES / 1048576} MB an input file may be`)
    return buffer.toString('utf8', 0, length)
  } finally {
    closeSync(fd)
  }
}

const TOO_DEEP = `nested deeper than ${MAX_YAML_DEPTH} levels: an experiment never needs that`

/**
 * js-yaml's reading of a file, chunk by chunk where it can be cut; undefined when it refuses the
 * file (the positioned parser then says why). A file read whole is positioned, when a problem
 * needs it, by a positioned document of the whole file. `deep`: the first path nested too deep.
 */
function readFast(text: string, readers: NonNullable<ReadOptions['items']>): { value: unknown; chunks?: ChunkedYaml; deep?: PropertyKey[] } | undefined {
  const split = splitTopLevelSequences(text)
  if (split) {
    const chunks = new ChunkedYaml(text, split, FAST_SCHEMA)
    let deep: PropertyKey[] | undefined
    // each chunk's items are checked for depth (under [key, index]) and handed to their reader while young
    const value = chunks.load((key, first, items) => {
      const inChunk = deep ? undefined : deepPath(items, MAX_YAML_DEPTH - 1)
      if (inChunk) deep = [key, first + (inChunk[0] as number), ...inChunk.slice(1)]
      const read = readers[key]
      return read ? items.map((item, i) => read(item, first + i)) : items
    })
    if (value !== undefined) {
      // the skeleton's own nesting: the sequences' items are in it by now, but shallower than their own check
      deep ??= deepPath(value, MAX_YAML_DEPTH, new Set(split.sequences.map((s) => s.key)))
      return { value, chunks, deep }
    }
  }
  try {
    const value: unknown = loadYaml(text, { schema: FAST_SCHEMA })
    const deep = deepPath(value, MAX_YAML_DEPTH)
    return { value: deep ? value : readItemsOf(value, readers), deep }
  } catch {
    return undefined
  }
}

/** The document with the items of the named top-level sequences replaced by what their readers make of them. */
function readItemsOf(value: unknown, readers: NonNullable<ReadOptions['items']>): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
  const doc = value as Record<string, unknown>
  for (const [key, read] of Object.entries(readers)) {
    const items = doc[key]
    if (Array.isArray(items)) doc[key] = items.map((item, i) => read(item, i))
  }
  return value
}

/** an alias (`*name`) anywhere: such files take the positioned parser, which bounds alias expansion */
const ALIAS = /(^|[\s[{,:-])\*[^\s*]/m

/**
 * The path of the first collection nested deeper than `max` in plain data, walking without
 * recursion; `skipAtRoot`: keys of the root not to walk into (checked already).
 */
function deepPath(root: unknown, max: number, skipAtRoot?: ReadonlySet<string>): PropertyKey[] | undefined {
  interface Frame {
    value: unknown
    depth: number
    parent?: Frame
    key?: PropertyKey
  }
  const stack: Frame[] = [{ value: root, depth: 0 }]
  while (stack.length) {
    const frame = stack.pop()!
    const value = frame.value
    if (value === null || typeof value !== 'object') continue
    if (frame.depth >= max) {
      const path: PropertyKey[] = []
      for (let f: Frame | undefined = frame; f?.parent; f = f.parent) path.unshift(f.key!)
      return path
    }
    if (Array.isArray(value)) value.forEach((v, i) => stack.push({ value: v, depth: frame.depth + 1, parent: frame, key: i }))
    else
      for (const k in value) {
        if (frame.depth === 0 && skipAtRoot?.has(k)) continue
        stack.push({ value: (value as Record<string, unknown>)[k], depth: frame.depth + 1, parent: frame, key: k })
      }
  }
  return undefined
}

/** Aliases a document may expand (yaml's own default): enough for any experiment's reuse. */
const MAX_ALIAS_COUNT = 100

function firstAlias(doc: Document.Parsed): number | undefined {
  let at: number | undefined
  visit(doc, {
    Alias(_key, node) {
      at = node.range?.[0]
      return visit.BREAK
    },
  })
  return at
}

/** Indentation or flow brackets this deep make the YAML parser itself fail: refuse them first. */
const MAX_INDENT_COLUMNS = 256
const MAX_FLOW_DEPTH = 256

function nestingBeyondBounds(text: string): { offset: number; message: string } | undefined {
  let depth = 0
  let quote: string | undefined
  let lineStart = true
  let indent = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 10) {
      lineStart = true
      indent = 0
      if (quote === "'" || quote === '"') continue // quoted scalars may span lines
      continue
    }
    if (lineStart) {
      if (c === 32) {
        if (++indent > MAX_INDENT_COLUMNS)
          return { offset: i, message: `indented more than ${MAX_INDENT_COLUMNS} columns: an experiment never nests that deep` }
        continue
      }
      lineStart = false
    }
    if (quote) {
      if (c === 92 && quote === '"')
        i++ // backslash escape
      else if (String.fromCharCode(c) === quote) quote = undefined
      continue
    }
    if (c === 35 /* # */) {
      const nl = text.indexOf('\n', i)
      i = nl < 0 ? text.length : nl - 1
    } else if (c === 34 || c === 39) quote = String.fromCharCode(c)
    else if (c === 91 || c === 123) {
      if (++depth > MAX_FLOW_DEPTH) return { offset: i, message: `brackets nested more than ${MAX_FLOW_DEPTH} deep: an experiment never nests that deep` }
    } else if (c === 93 || c === 125) depth = Math.max(0, depth - 1)
  }
  return undefined
}

function offsetToLineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1
  let start = 0
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++
    start = i + 1
  }
  return { line, col: offset - start + 1 }
}

/** The offset of the first collection nested deeper than `max`, walking without recursion. */
function deepestBeyond(root: unknown, max: number): number | undefined {
  const stack: [unknown, number][] = [[root, 0]]
  while (stack.length) {
    const [node, depth] = stack.pop()!
    if (!isCollection(node)) continue
    if (depth >= max) return node.range?.[0] ?? 0
    for (const item of node.items) {
      if (isPair(item)) {
        stack.push([item.key, depth + 1])
        stack.push([item.value, depth + 1])
      } else stack.push([item, depth + 1])
    }
  }
  return undefined
}
