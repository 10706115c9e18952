/**
 * Finding an environment: `--env local` (the default), `--env containers`, `--env aws`, or a
 * path to an environment file; the file's `kind:` picks the kind (./kinds.ts), whose schema is
 * checked with positions before its code is imported.
 */
import { existsSync } from 'node:fs'
import type { Environment } from '../api/environment.ts'
import { ValidationError } from '../api/errors.ts'
import { environmentFile } from './locate.ts'
import { YamlSource, formatIssue } from '../experiment/yaml-source.ts'
import { environmentKind, environmentKinds } from './kinds.ts'

function invalid(source: YamlSource, error: { issues: { path: PropertyKey[]; message: string }[] }): never {
  const issues = error.issues.map((i) => source.issue(i.path, i.message))
  throw new ValidationError(issues.map(formatIssue).join('\n'), issues)
}

/** The file's config, checked against its kind's schema (positioned errors), and the kind. */
export function parseEnvironmentFile(file: string): { kind: string; config: unknown; source: YamlSource } {
  const source = YamlSource.read(file)
  const syntax = source.syntaxIssues()
  if (syntax.length) throw new ValidationError(syntax.map(formatIssue).join('\n'), syntax)
  const raw = source.toJS() as { kind?: unknown } | null
  const kind = typeof raw?.kind === 'string' ? environmentKind(raw.kind) : undefined
  if (!kind) {
    const issue = source.issue(['kind'], `kind must be one of ${environmentKinds().join(', ')} (got ${JSON.stringify(raw?.kind)})`)
    throw new ValidationError(formatIssue(issue), [issue])
  }
  if (!kind.schema) return { kind: String(raw!.kind), config: raw, source }
  const parsed = kind.schema.safeParse(raw)
  if (!parsed.success) invalid(source, parsed.error)
  return { kind: String(raw!.kind), config: parsed.data, source }
}

export async function loadEnvironment(nameOrFile: string): Promise<Environment> {
  const file = environmentFile(nameOrFile)
  if (!existsSync(file)) {
    const hint = nameOrFile === 'aws' ? ' (copy environments/aws.example.yaml to environments/aws.yaml and fill it in)' : ''
    throw new ValidationError(`environment file not found: ${file}${hint}`)
  }
  const { kind, config } = parseEnvironmentFile(file)
  const create = await environmentKind(kind)!
    .load()
    .catch((err: Error) => {
      throw new ValidationError(`${file}: the ${kind} environment cannot be loaded: ${err.message}`, [], { cause: err })
    })
  return create(file, config)
}
