/**
 * History file formats for the linearizability checker, detected from the first non-empty line:
 * - `{"`…  our JSONL (see jsonl.ts)
 * - `{:`…  Jepsen EDN maps, one a line (see edn.ts)
 * - `INFO  jepsen.util - …`  Jepsen's register-test log (see jepsen-log.ts)
 */
import { readFile } from 'node:fs/promises'
import { HistoryParseError } from './builder.ts'
import { parseEdnHistory } from './edn.ts'
import { isJepsenLogLine, parseJepsenLog } from './jepsen-log.ts'
import { parseJsonlHistory } from './jsonl.ts'
import type { KeyedOp } from '../linearizability/models/values.ts'

export { HistoryParseError } from './builder.ts'
export { parseEdnHistory, readEdn, Keyword } from './edn.ts'
export { parseJepsenLog } from './jepsen-log.ts'
export { parseJsonlHistory, formatJsonlEvent, type JsonlEvent } from './jsonl.ts'

export type HistoryFormat = 'jsonl' | 'edn' | 'jepsen-log'

export function detectFormat(text: string, file = '<input>'): HistoryFormat | undefined {
  let lineNo = 0
  for (const raw of text.split('\n', 1000)) {
    lineNo++
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    if (/^\{\s*"/.test(line)) return 'jsonl'
    if (/^\{\s*:/.test(line)) return 'edn'
    if (isJepsenLogLine(line)) return 'jepsen-log'
    throw new HistoryParseError(file, lineNo, 'unknown history format (expected JSONL, Jepsen EDN maps or a jepsen.util log)')
  }
  return undefined // empty
}

export function parseHistory(text: string, file = '<input>'): KeyedOp[] {
  switch (detectFormat(text, file)) {
    case 'jsonl':
      return parseJsonlHistory(text, file)
    case 'edn':
      return parseEdnHistory(text, file)
    case 'jepsen-log':
      return parseJepsenLog(text, file)
    default:
      return []
  }
}

export async function readHistoryFile(path: string): Promise<KeyedOp[]> {
  return parseHistory(await readFile(path, 'utf8'), path)
}
