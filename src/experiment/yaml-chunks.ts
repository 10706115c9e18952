/**
 * A large YAML file read chunk by chunk (where yaml-split.ts found it can be cut): the skeleton
 * — the file without the items of its top-level block sequences — and those items in chunks of
 * about CHUNK_BYTES, each parsed on its own by js-yaml. Only one chunk's parser events are alive
 * at a time, so reading costs about the size of the result, not the parser's whole event stream.
 *
 * Positions come from the same place: a value path is looked up in a positioned document of the
 * one chunk that holds it (or of the skeleton) — the same answer a small file gets, at the cost of
 * a few kilobytes rather than of a positioned document of the whole file.
 */
import { constructFromEvents, parseEvents, type Schema } from 'js-yaml'
import { parseDocument, type Document } from 'yaml'
import { offsetOfPath } from './yaml-path.ts'
import type { Split } from './yaml-split.ts'

/**
 * Items are parsed in chunks of about this many bytes: small, so a chunk's parser events die
 * young (a 64 KiB chunk's outlive a collection and linger in the old generation: +60 MB peak).
 */
const CHUNK_BYTES = 4 * 1024

interface Chunk {
  start: number
  end: number
  /** index of its first item in the sequence */
  firstItem: number
  items: number
}

export class ChunkedYaml {
  /** the file without the sequences' items, and where each of its segments is in the file */
  private readonly skeleton: { text: string; segments: { at: number; from: number }[] }
  private readonly chunks = new Map<string, Chunk[]>()
  /** the positioned document of the last chunk a position was looked up in: problems come in reading order */
  private last: { start: number; doc: Document.Parsed } | undefined

  constructor(
    private readonly text: string,
    split: Split,
    private readonly schema: Schema,
  ) {
    const parts: string[] = []
    const segments: { at: number; from: number }[] = []
    let from = 0
    let at = 0
    for (const seq of split.sequences) {
      const start = seq.items[0].start
      parts.push(text.slice(from, start))
      segments.push({ at, from })
      at += start - from
      from = seq.items.at(-1)!.end
      this.chunks.set(seq.key, chunksOf(seq.items))
    }
    parts.push(text.slice(from))
    segments.push({ at, from })
    this.skeleton = { text: parts.join(''), segments }
  }

  /**
   * The document as plain data, or undefined when a chunk does not parse or is not what the split
   * promised (the file is then read whole, which says what is wrong and where). Each chunk's
   * items go through `readItems` as soon as they are parsed, and what it returns stands in for
   * them: a reader that turns them into something smaller lets the plain data die young.
   */
  load(readItems: (key: string, firstIndex: number, items: unknown[]) => unknown[] = (_k, _i, items) => items): unknown {
    let root: unknown
    try {
      root = this.parse(this.skeleton.text)
    } catch {
      return undefined
    }
    if (root === null || typeof root !== 'object' || Array.isArray(root)) return undefined
    const doc = root as Record<string, unknown>
    for (const [key, chunks] of this.chunks) {
      // the skeleton holds the key with nothing under it
      if (!Object.hasOwn(doc, key) || doc[key] !== null) return undefined
      const items: unknown[] = []
      for (const chunk of chunks) {
        let value: unknown
        try {
          value = this.parse(this.text.slice(chunk.start, chunk.end))
        } catch {
          return undefined
        }
        if (!Array.isArray(value) || value.length !== chunk.items) return undefined
        for (const item of readItems(key, chunk.firstItem, value)) items.push(item)
      }
      doc[key] = items
    }
    return doc
  }

  private parse(text: string): unknown {
    const docs = constructFromEvents(parseEvents(text, {}), { source: text, schema: this.schema })
    if (docs.length !== 1) throw new Error('not one document')
    return docs[0]
  }

  /** The offset in the file of what `path` names (see offsetOfPath), looked up in the one chunk that holds it. */
  offsetOf(path: readonly PropertyKey[]): number {
    const chunks = typeof path[0] === 'string' ? this.chunks.get(path[0]) : undefined
    const index = path[1]
    if (chunks && typeof index === 'number') {
      const chunk = chunks.find((c) => index >= c.firstItem && index < c.firstItem + c.items)
      if (chunk) {
        const text = this.text.slice(chunk.start, chunk.end)
        return chunk.start + offsetOfPath(this.documentOf(chunk.start, text), [index - chunk.firstItem, ...path.slice(2)])
      }
    }
    const inSkeleton = offsetOfPath(this.documentOf(-1, this.skeleton.text), chunks ? path.slice(0, 1) : path)
    const segment = this.skeleton.segments.findLast((s) => s.at <= inSkeleton)!
    return segment.from + inSkeleton - segment.at
  }

  /** A chunk's positioned document: the same positions a small file gets, at the cost of one chunk. */
  private documentOf(start: number, text: string): Document.Parsed {
    if (this.last?.start !== start) this.last = { start, doc: parseDocument(text, { prettyErrors: false, uniqueKeys: true, merge: true }) }
    return this.last.doc
  }
}

function chunksOf(items: { start: number; end: number }[]): Chunk[] {
  const chunks: Chunk[] = []
  let first = 0
  for (let i = 0; i < items.length; i++) {
    const last = i === items.length - 1
    if (last || items[i].end - items[first].start >= CHUNK_BYTES) {
      chunks.push({ start: items[first].start, end: items[i].end, firstItem: first, items: i - first + 1 })
      first = i + 1
    }
  }
  return chunks
}
