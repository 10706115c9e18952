/**
 * Finding an environment: `--env local` (the default), `--env containers`, `--env aws`, or a
 * path to an environment file; the file's `kind:` picks the driver.
 */
import { existsSync } from 'node:fs'
import type { Environment } from '../api/environment.ts'
import { ValidationError } from '../api/errors.ts'
import { environmentFile } from './locate.ts'
import { YamlSource, formatIssue } from '../experiment/yaml-source.ts'
import { LocalConfigSchema } from './local/config.ts'
import { LocalEnvironment } from './local/environment.ts'

function invalid(source: YamlSource, error: { issues: { path: PropertyKey[]; message: string }[] }): never {
  const issues = error.issues.map((i) => source.issue(i.path, i.message))
  throw new ValidationError(issues.map(formatIssue).join('\n'), issues)
}

export async function loadEnvironment(nameOrFile: string): Promise<Environment> {
  const file = environmentFile(nameOrFile)
  if (!existsSync(file)) {
    const hint = nameOrFile === 'aws' ? ' (copy environments/aws.example.yaml to environments/aws.yaml and fill it in)' : ''
    throw new ValidationError(`environment file not found: ${file}${hint}`)
  }
  const source = YamlSource.read(file)
  const syntax = source.syntaxIssues()
  if (syntax.length) throw new ValidationError(syntax.map(formatIssue).join('\n'), syntax)
  const raw = source.toJS() as { kind?: string } | null
  switch (raw?.kind) {
    case 'local': {
      const parsed = LocalConfigSchema.safeParse(raw)
      if (!parsed.success) invalid(source, parsed.error)
      return new LocalEnvironment(parsed.data, file)
    }
    case 'containers': {
      const mod = await import('./containers/index.ts').catch((err: Error) => {
        throw new ValidationError(`${file}: the containers environment cannot be loaded: ${err.message}`, [], { cause: err })
      })
      return mod.loadContainersEnvironment(file, source)
    }
    case 'aws': {
      const mod = await import('./aws/index.ts').catch((err: Error) => {
        throw new ValidationError(`${file}: the aws environment cannot be loaded: ${err.message}`, [], { cause: err })
      })
      return mod.loadAwsEnvironment(file)
    }
    default: {
      const issue = source.issue(['kind'], `kind must be one of local, containers, aws (got ${JSON.stringify(raw?.kind)})`)
      throw new ValidationError(formatIssue(issue), [issue])
    }
  }
}
