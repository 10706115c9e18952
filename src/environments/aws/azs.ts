/** Logical AZ names (as experiments write them, `az-b`) and AWS's (`eu-west-1b`), from the file's `azs:`. */
import { TargetError } from '../../api/errors.ts'
import type { AwsConfig } from './config.ts'

/** AWS AZ name → the logical name experiments use (the AWS name when the file maps none). */
export function logicalAz(cfg: AwsConfig, realAz: string): string {
  for (const [logical, real] of Object.entries(cfg.azs ?? {})) if (real === realAz) return logical
  return realAz
}

/** Logical AZ name → AWS AZ name. */
export function realAz(cfg: AwsConfig, logical: string): string {
  const mapped = cfg.azs?.[logical]
  if (mapped) return mapped
  if (logical.startsWith(cfg.region)) return logical
  throw new TargetError(`unknown AZ "${logical}" (known: ${Object.keys(cfg.azs ?? {}).join(', ') || 'AWS AZ names of ' + cfg.region})`)
}
