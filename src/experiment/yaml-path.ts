/**
 * Where a value path is written in a positioned YAML document: the key when the path ends on a
 * mapping key (the line a human looks at), the item for a sequence index, else the deepest
 * existing ancestor. The offset is the document's own (its text's first character is 0).
 */
import { isNode, type Document } from 'yaml'

export function offsetOfPath(doc: Document.Parsed, path: readonly PropertyKey[]): number {
  const start = (n: unknown): number | undefined => (n as { range?: number[] } | null)?.range?.[0]
  let node: unknown = doc.contents
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
  return offset
}
