/**
 * Finding an environment: `--env local` (the default), `--env containers`, `--env aws`, or a
 * path to an environment file; the file's `kind:` picks the kind (./kinds.ts), whose schema is
 * checked with positions before its code is imported.
 */
import { existsSync } from 'node:fs'
import type { z } from 'zod'
import type { Environment } from '../api/environment.ts'
import { ValidationError } from '../api/errors.ts'
import { environmentFile } from './locate.ts'
import { YamlSource, formatIssue } from '../experiment/yaml-source.ts'
import { environmentKind, environmentKinds } from './kinds.ts'

type ZodIssueLike = { code?: string; path: PropertyKey[]; message: string; keys?: string[] }

/** The keys an object of the schema has at `path`, to name them when a file has one it does not. */
function keysAt(schema: z.ZodType, path: PropertyKey[]): string[] | undefined {
  type Def = { type: string; innerType?: unknown; in?: unknown; shape?: Record<string, unknown>; valueType?: unknown; element?: unknown }
  const def = (s: unknown) => (s as { _zod?: { def: Def } } | undefined)?._zod?.def
  const unwrap = (s: unknown): unknown => {
    const d = def(s)
    if (d && ['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch'].includes(d.type)) return unwrap(d.innerType)
    return d?.type === 'pipe' ? unwrap(d.in) : s
  }
  let at = unwrap(schema)
  for (const key of path) {
    const d = def(at)
    at = unwrap(d?.type === 'object' ? d.shape?.[String(key)] : d?.type === 'record' ? d.valueType : d?.type === 'array' ? d.element : undefined)
  }
  const d = def(at)
  return d?.type === 'object' ? Object.keys(d.shape ?? {}) : undefined
}

function invalid(source: YamlSource, schema: z.ZodType, error: { issues: ZodIssueLike[] }): never {
  const issues = error.issues.flatMap((i) => {
    if (i.code !== 'unrecognized_keys' || !i.keys?.length) return [source.issue(i.path, i.message)]
    const known = keysAt(schema, i.path)
    // at the key itself, naming the keys there are: the usual cause is a typo
    return i.keys.map((key) => source.issue([...i.path, key], `unknown key ${JSON.stringify(key)}${known ? `: the keys here are ${known.join(', ')}` : ''}`))
  })
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
  if (!parsed.success) invalid(source, kind.schema, parsed.error)
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
