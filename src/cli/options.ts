/**
 * Options several commands share, and parsers that refuse a bad value at the command line
 * (exit 2) instead of letting `NaN` or `-1` reach the engine.
 */
import { InvalidArgumentError, Option } from 'commander'

export const envOption = () =>
  new Option('-e, --env <env>', 'local | containers | aws (environments/<name>.yaml, yours first) or a path to an environment file').default('local')

/** a whole number, written as one (no `1e3`, `0x10`, `12abc`) */
function wholeNumber(value: string, what: string, min: number): number {
  const n = /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${what}, got ${JSON.stringify(value)}`)
  return n
}

/** --seed: a whole number, 0 or more (as an experiment's `seed:`) */
export function parseSeed(value: string): number {
  return wholeNumber(value, 'a seed is a whole number, 0 or more', 0)
}

export function parseCount(value: string): number {
  return wholeNumber(value, 'expected a whole number, 0 or more', 0)
}
