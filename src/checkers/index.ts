/** The checkers: pure functions from a recorded history to a verdict. */
export * from './linearizability/index.ts'
export {
  checkDurabilityEvents,
  DurabilityHistory,
  DurabilityHistoryWriter,
  DurabilityParseError,
  durabilityVerdict,
  formatDurability,
  parseDurabilityHistory,
  readDurabilityFile,
  DURABILITY_HEADER,
  type DurabilityResult,
  type LostValue,
  type PublishOutcome,
  type UnexpectedValue,
  type WriterSummary,
} from './durability.ts'
export { detectFormat, formatJsonlEvent, HistoryParseError, parseHistory, readHistoryFile, type JsonlEvent } from './history-formats/index.ts'
