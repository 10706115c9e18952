/**
 * The local environment with a broken variant of the target: environments/local.yaml as it is,
 * with GAMEDAY_BROKEN set on the given services' tasks — so a mutant runs on exactly the
 * environment the shipped experiments run on, whatever shape that file takes.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import { REPO_ROOT } from '../src/util/node-entry.ts'

/**
 * `variant` on `services` (none: the target as it is), after `serviceEnv` — settings an experiment's
 * row needs on both its baseline and its variants (see ExperimentRow.serviceEnv).
 */
export function variantEnvironmentFile(variant: string | undefined, services: string[], serviceEnv: Record<string, Record<string, string>> = {}): string {
  const config = parse(readFileSync(join(REPO_ROOT, 'environments', 'local.yaml'), 'utf8')) as { services?: Record<string, { env?: Record<string, string> }> }
  for (const [service, env] of Object.entries(serviceEnv)) {
    const spec = config.services?.[service]
    if (!spec) throw new Error(`environments/local.yaml has no service ${service} to configure`)
    spec.env = { ...spec.env, ...env }
  }
  for (const service of variant ? services : []) {
    const spec = config.services?.[service]
    if (!spec) throw new Error(`environments/local.yaml has no service ${service} to break`)
    spec.env = { ...spec.env, GAMEDAY_BROKEN: variant! }
  }
  const file = join(mkdtempSync(join(tmpdir(), 'gameday-mutant-env-')), `local-${variant ?? 'as-built'}.yaml`)
  writeFileSync(file, stringify(config))
  return file
}
