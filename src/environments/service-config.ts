/**
 * A service in a local or containers environment file, and how it becomes the ECS stand-in's
 * task definition. A service is one of
 *
 *   entry: target/gateway.ts                            a TypeScript entry of this repository (both kinds)
 *   command: [python3, -m, inventory_service]           any executable, with cwd: (local)
 *   image: registry/inventory:1.4.2                     an image, with an optional command: (containers)
 *
 * with `env:` whose values (and `command:` arguments) may use ${NATS_URL}, ${REDIS_URL}, ${PORT},
 * ${TASK_ID}, ${AZ}… (ecs/variables.ts), filled per task, and `ready:` — how a task proves it is
 * ready: { http: /readyz }, { natsService: inventory }, { log: "regex" }, { tcp: true }; without
 * it, the task's own {"event":"ready"} line.
 */
import { dirname, isAbsolute, resolve } from 'node:path'
import { z } from 'zod'
import { Duration } from '../api/duration.ts'
import type { ReadyCheck, TaskDefinition } from './ecs/definition.ts'
import { placeholdersIn, REDIS_VARIABLES, TASK_VARIABLES } from './ecs/variables.ts'

const READY_FORMS = 'ready must be one of { http: /path }, { natsService: <name> }, { log: "<regex>" }, { tcp: true }'

const validRegex = (s: string) => {
  try {
    new RegExp(s)
    return true
  } catch {
    return false
  }
}

export const ReadySchema = z.union(
  [
    z.strictObject({ http: z.string().regex(/^\//, 'a path, like /readyz').describe('GET this path on the task’s PORT answers 2xx') }),
    z.strictObject({ natsService: z.string().min(1).describe('the task answers $SRV.PING.<name> (NATS services protocol)') }),
    z.strictObject({ log: z.string().min(1).refine(validRegex, 'not a valid regular expression').describe('a line of its output matches') }),
    z.strictObject({ tcp: z.literal(true).describe('its PORT accepts TCP connections') }),
  ],
  { error: () => READY_FORMS },
)

export const ServiceSchema = z.strictObject({
  entry: z.string().min(1).optional().describe('a TypeScript entry point of this repository, relative to its root (run with node)'),
  command: z.array(z.string().min(1)).min(1).optional().describe('local: any executable and its arguments; containers: the command of `image`'),
  image: z.string().min(1).optional().describe('containers: the image a task runs'),
  cwd: z.string().min(1).optional().describe('local: the working directory of `command`, relative to this file (default: its folder)'),
  instances: z.int().positive().max(100).default(2),
  /** serves HTTP: gets a PORT and sits behind the environment's load balancer */
  http: z.boolean().default(false),
  caches: z.array(z.string()).default([]).describe('Redis caches this service uses (the first is its REDIS_URL)'),
  calls: z
    .array(z.string())
    .default([])
    .describe('the services it sends NATS requests to: with accounts, its account imports their endpoints (and nothing else)'),
  env: z.record(z.string(), z.string()).default({}).describe('variables of its own; ${NATS_URL}, ${PORT}, ${TASK_ID}… are filled per task'),
  ready: ReadySchema.optional().describe('how a task proves it is ready (default: its {"event":"ready"} line)'),
  stopGrace: Duration.prefault('10s').describe('SIGTERM → SIGKILL grace, like the ECS stop timeout'),
  deregistrationDelay: Duration.prefault('1s').describe(
    'http services: a stopped task leaves the load balancer this long before its SIGTERM, like the target group deregistration delay',
  ),
  readyTimeout: Duration.prefault('60s').describe('a task not ready by then is stopped and `env up` fails, showing its last lines'),
})

export type ServiceConfig = z.infer<typeof ServiceSchema>

type Services = Record<string, ServiceConfig>

/**
 * The checks a service needs beyond its shape, as positioned issues with a next step: how it is
 * run (per kind), the placeholders it uses, the caches it names.
 */
export function checkServices(kind: 'local' | 'containers', services: Services, caches: Record<string, unknown>, ctx: z.RefinementCtx): void {
  for (const [name, s] of Object.entries(services)) {
    const at = (...path: (string | number)[]) => ['services', name, ...path]
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message })
    const ways = (['entry', 'command', 'image'] as const).filter((k) => s[k] !== undefined)
    if (kind === 'local') {
      if (s.image !== undefined)
        issue(at('image'), 'the local environment runs processes, not images: give `entry:` or `command:` (images run with --env containers)')
      else if (!ways.length) issue(at(), `service ${name} has no way to run: give \`entry: path/to/main.ts\` or \`command: [executable, args…]\``)
      else if (s.entry !== undefined && s.command !== undefined) issue(at('command'), 'give `entry:` or `command:`, not both')
      if (s.cwd !== undefined && s.command === undefined)
        issue(at('cwd'), '`cwd:` is the working directory of `command:`; an `entry:` runs from the repository root')
    } else {
      if (!ways.length) issue(at(), `service ${name} has no way to run: give \`image: name:tag\` (optionally with \`command:\`) or \`entry: path/to/main.ts\``)
      else if (s.entry !== undefined && (s.image !== undefined || s.command !== undefined))
        issue(at('entry'), '`entry:` runs in the node image with the repository mounted: give it alone, or `image:` (with `command:`) instead')
      else if (s.command !== undefined && s.image === undefined) issue(at('command'), 'on containers a command runs inside an image: add `image: name:tag`')
      if (s.cwd !== undefined) issue(at('cwd'), '`cwd:` is for local commands; an image has its own working directory')
    }
    s.calls.forEach((callee, i) => {
      if (!(callee in services))
        issue(
          at('calls', i),
          `unknown service ${JSON.stringify(callee)} (services: ${Object.keys(services).join(', ')}): calls: names the services it sends requests to`,
        )
    })
    s.caches.forEach((cache, i) => {
      if (!(cache in caches))
        issue(
          at('caches', i),
          `unknown cache ${JSON.stringify(cache)} (caches: ${Object.keys(caches).join(', ') || 'none'}): define it under caches: or fix the name`,
        )
    })
    const hasPort = s.http || (s.ready !== undefined && ('tcp' in s.ready || 'http' in s.ready))
    const texts: [(string | number)[], string][] = [
      ...Object.entries(s.env).map(([k, v]): [(string | number)[], string] => [at('env', k), v]),
      ...(s.command ?? []).map((v, i): [(string | number)[], string] => [at('command', i), v]),
    ]
    for (const [path, text] of texts) {
      for (const variable of placeholdersIn(text)) {
        if (!(variable in TASK_VARIABLES))
          issue(path, `unknown placeholder \${${variable}}: one of ${Object.keys(TASK_VARIABLES).join(', ')} (write $\${…} for a literal)`)
        else if (variable === 'PORT' && !hasPort) issue(path, '${PORT} is set only for a service with `http: true` or `ready: { tcp: true }` / `{ http: … }`')
        else if (REDIS_VARIABLES.includes(variable) && !s.caches.length) issue(path, `\${${variable}} is set only for a service with \`caches: [<cache>]\``)
      }
    }
  }
}

/** A service of an environment file as the stand-in's task definition; `cwd` taken from the file's folder. */
export function taskDefinition(name: string, s: ServiceConfig, environmentFile: string): TaskDefinition {
  const ready: ReadyCheck = s.ready ?? { event: true }
  return {
    service: name,
    instances: s.instances,
    http: s.http,
    caches: s.caches,
    calls: s.calls,
    ...(s.entry !== undefined ? { entry: s.entry } : {}),
    ...(s.command !== undefined ? { command: s.command } : {}),
    ...(s.image !== undefined ? { image: s.image } : {}),
    // a local command runs where the environment file is, unless its cwd says otherwise
    ...(s.command !== undefined && s.image === undefined ? { cwd: isAbsolute(s.cwd ?? '') ? s.cwd : resolve(dirname(environmentFile), s.cwd ?? '.') } : {}),
    env: s.env,
    ready,
    stopGraceMs: s.stopGrace,
    deregistrationDelayMs: s.deregistrationDelay,
    readyTimeoutMs: s.readyTimeout,
  }
}

export function taskDefinitions(services: Services, environmentFile: string): Record<string, TaskDefinition> {
  return Object.fromEntries(Object.entries(services).map(([name, s]) => [name, taskDefinition(name, s, environmentFile)]))
}
