/**
 * The placeholders a service's `env:` values and `command:` arguments may use — `${NATS_URL}`,
 * `${PORT}`… — filled per task by the ECS stand-in. Every task also gets them as variables of its
 * own, so the reference services read NATS_URL directly. `$${X}` is a literal `${X}`.
 *
 * Extension point: an environment with TLS or credentials adds its file paths here (say
 * NATS_CA_FILE, NATS_CREDS_FILE, REDIS_TLS_CA_FILE) and supplies their values through the
 * scheduler's `variables` option; validation then accepts them in environment files.
 */

export const TASK_VARIABLES: Record<string, string> = {
  NATS_URL: "the task's NATS servers, comma-separated, its own AZ's first",
  REDIS_URL: "the service's first cache, through its link on the fault proxy (caches: [...])",
  PORT: 'the port the task listens on (http services, and tcp/http readiness)',
  TASK_ID: "the task's id, <service>-<n>",
  AZ: "the task's availability zone",
  SERVICE: "the service's name",
  STOP_GRACE_MS: 'SIGTERM → SIGKILL grace, in milliseconds',
}

const PLACEHOLDER = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/** The placeholder names a text uses (escaped `$${X}` aside). */
export function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].filter((m) => !m[1]).map((m) => m[2])
}

/** Fills `${NAME}` from `values`; a name without a value is left for the caller's validation to have caught. */
export function fillPlaceholders(text: string, values: Record<string, string | undefined>): string {
  return text.replace(PLACEHOLDER, (whole, escaped: string, name: string) => (escaped ? whole.slice(1) : (values[name] ?? '')))
}
