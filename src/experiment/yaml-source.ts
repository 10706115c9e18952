/**
 * YAML with positions: parse a file keeping a map from value paths to line:col, so every
 * error — syntax, schema or semantic — is reported as `file:line:col: message`.
 */
import { readFileSync } from 'node:fs'
import { LineCounter, parseDocument, isNode, type Document } from 'yaml'

export interface SourceIssue {
  file: string
  line: number
  col: number
  message: string
}

export class YamlSource {
  private constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  static read(file: string): YamlSource {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      throw new Error(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? err}`, { cause: err })
    }
    return YamlSource.parse(file, text)
  }

  static parse(file: string, text: string): YamlSource {
    const lines = new LineCounter()
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
    return new YamlSource(file, doc, lines)
  }

  /** YAML syntax errors cascade: report the first one, where it is — the rest are its echo. */
  syntaxIssues(): SourceIssue[] {
    const first = this.doc.errors[0]
    if (!first) return []
    const pos = this.lines.linePos(first.pos[0])
    const more = this.doc.errors.length > 1 ? ` (and ${this.doc.errors.length - 1} more errors that may follow from it)` : ''
    return [{ file: this.file, line: pos.line, col: pos.col, message: `YAML syntax: ${first.message.split('\n')[0]}${more}` }]
  }

  toJS(): unknown {
    return this.doc.toJS()
  }

  /**
   * line:col for a value path: the key when the path ends on a mapping key (the line a human
   * looks at), the item for a sequence index, else the deepest existing ancestor.
   */
  position(path: readonly PropertyKey[]): { line: number; col: number } {
    const start = (n: unknown): number | undefined => (n as { range?: number[] } | null)?.range?.[0]
    let node: unknown = this.doc.contents
    let offset = start(node) ?? 0
    for (let i = 0; i < path.length; i++) {
      const key = path[i]
      if (!isNode(node) || !('items' in node)) break
      const items = (node as { items: unknown[] }).items
      if (typeof key === 'number') {
        node = items[key]
        if (node === undefined) break
        offset = start(node) ?? offset
        continue
      }
      const pair = items.find((p) => {
        const k = (p as { key?: unknown }).key
        return (isNode(k) ? (k as { value?: unknown }).value : k) === key
      }) as { key?: unknown; value?: unknown } | undefined
      if (!pair) break
      const last = i === path.length - 1
      const valueIsCollection = isNode(pair.value) && 'items' in (pair.value as object)
      offset = (last || !valueIsCollection ? start(pair.key) : start(pair.value)) ?? offset
      node = pair.value
    }
    const pos = this.lines.linePos(offset)
    return { line: pos.line, col: pos.col }
  }

  issue(path: readonly PropertyKey[], message: string): SourceIssue {
    const { line, col } = this.position(path)
    return { file: this.file, line, col, message }
  }
}

export function formatIssue(issue: SourceIssue): string {
  return `${issue.file}:${issue.line}:${issue.col}: ${issue.message}`
}
