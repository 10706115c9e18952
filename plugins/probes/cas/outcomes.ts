/**
 * What a service's answer means for a compare-and-set history, shared by the stores that drive a
 * service's own API (http, nats-request): the status that says "no such key", the status that
 * says "the compare failed", and the statuses that certainly did nothing. Everything else that
 * is not a success is an unknown outcome — recorded as indeterminate, never as failed, since a
 * 500 or a 504 may come after the write was stored.
 */
import { z } from 'zod'
import { StoreError } from './stores.ts'

export type Status = number | string

export const StatusList = z.array(z.union([z.int(), z.string().min(1)]))

export const StatusRulesShape = {
  absent: StatusList.default([404]).describe('read: the status that means "no such key" (the register is nil)'),
  conflict: StatusList.default([409]).describe('cas: the status that means the compare failed (a definite, completed no-op)'),
  refused: StatusList.optional().describe('statuses that certainly changed nothing (default: every 4xx); any other failure is an unknown outcome'),
}

export interface StatusRules {
  absent: Status[]
  conflict: Status[]
  refused?: Status[]
}

const has = (list: Status[], status: Status) => list.some((s) => String(s) === String(status))

export type Meaning = 'absent' | 'conflict' | 'refused' | 'unknown'

export function meaningOf(status: Status, rules: StatusRules, op: 'read' | 'write' | 'cas'): Meaning {
  if (op === 'read' && has(rules.absent, status)) return 'absent'
  if (op === 'cas' && has(rules.conflict, status)) return 'conflict'
  if (rules.refused) return has(rules.refused, status) ? 'refused' : 'unknown'
  const n = Number(status)
  return Number.isInteger(n) && n >= 400 && n < 500 ? 'refused' : 'unknown'
}

/** The StoreError for an answer that is neither a success nor absent / conflict. */
export function statusError(what: string, status: Status, message: string, rules: StatusRules, op: 'read' | 'write' | 'cas', prefix: string): StoreError {
  return new StoreError(`${what}: ${status}${message ? ` ${message}` : ''}`, meaningOf(status, rules, op) === 'refused', `${prefix}-${status}`)
}

/** A version as the store reports it: a non-negative safe integer (0 = absent). */
export function toVersion(raw: unknown, where: string): number {
  const n = typeof raw === 'bigint' ? Number(raw) : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new StoreError(
      `${where}: the version ${JSON.stringify(typeof raw === 'bigint' ? String(raw) : raw)} is not a non-negative integer`,
      false,
      'bad-reply',
    )
  }
  return n
}

/** A register value as the service answers it: the probe only ever writes integers. */
export function toValue(raw: unknown): number | null {
  if (raw === null || raw === undefined || raw === '') return null
  const n = typeof raw === 'bigint' ? Number(raw) : Number(raw)
  return Number.isSafeInteger(n) ? n : null
}
