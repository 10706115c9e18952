/**
 * Environment kinds, registered by name the way probes and faults are: the `kind:` of an
 * environment file picks one. A kind is a folder under src/environments/ plus one line here —
 * its config schema (checked with file:line:col before any of the kind's code loads) and a
 * loader imported only when a file of that kind is used, so `gameday` loads only the kind it runs.
 *
 *   registerKind('kubernetes', { schema: KubernetesConfigSchema, load: () => import('./kubernetes/index.ts').then((m) => m.create) })
 */
import type { z } from 'zod'
import type { Environment } from '../api/environment.ts'
import { ContainersConfigSchema } from './containers/config.ts'
import { LocalConfigSchema } from './local/config.ts'

/** Makes the environment from its file and, when the kind has a schema, the parsed config. */
export type CreateEnvironment<C> = (file: string, config: C) => Environment | Promise<Environment>

export interface EnvironmentKindSpec<C = unknown> {
  /** the file's shape; without one, the kind's loader checks the file itself */
  schema?: z.ZodType<C>
  /** imports the kind's code, on first use only */
  load(): Promise<CreateEnvironment<C>>
}

const kinds = new Map<string, EnvironmentKindSpec>()

export function registerKind<C>(name: string, spec: EnvironmentKindSpec<C>): void {
  if (kinds.has(name)) throw new Error(`environment kind ${name} is registered twice`)
  kinds.set(name, spec as EnvironmentKindSpec)
}

export function environmentKind(name: string): EnvironmentKindSpec | undefined {
  return kinds.get(name)
}

export function environmentKinds(): string[] {
  return [...kinds.keys()]
}

registerKind('local', { schema: LocalConfigSchema, load: () => import('./local/index.ts').then((m) => m.createLocalEnvironment) })
registerKind('containers', { schema: ContainersConfigSchema, load: () => import('./containers/index.ts').then((m) => m.createContainersEnvironment) })
registerKind('aws', { load: () => import('./aws/index.ts').then((m) => (file: string) => m.loadAwsEnvironment(file)) })
