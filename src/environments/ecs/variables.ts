/**
 * The placeholders a service's `env:` values and `command:` arguments may use — `${NATS_URL}`,
 * `${PORT}`… — filled per task by the ECS stand-in. Every task also gets them as variables of its
 * own, so the reference services read NATS_URL directly. `$${X}` is a literal `${X}`.
 *
 * Extension point: an environment with TLS or credentials adds its file paths here and supplies
 * their values through the scheduler's `variables` option; validation then accepts them in
 * environment files. The production shape's are below: a task of a cluster with `tls: true` gets
 * the CA and its service's own client certificate (the certificate's subject is its NATS user);
 * a task using a Redis Cluster gets its seeds, the NAT map and, as asked, the password and CA.
 * A variable that does not apply to a task is not set at all (a placeholder of it fills empty).
 */

export const TASK_VARIABLES: Record<string, string> = {
  NATS_URL: "the task's NATS servers, comma-separated, its own AZ's first",
  REDIS_URL: "the service's first cache, through its link on the fault proxy (caches: [...])",
  PORT: 'the port the task listens on (http services, and tcp/http readiness)',
  TASK_ID: "the task's id, <service>-<n>",
  AZ: "the task's availability zone",
  SERVICE: "the service's name",
  STOP_GRACE_MS: 'SIGTERM → SIGKILL grace, in milliseconds',
  NATS_CA_FILE: "tls: the environment's CA, which signed every server certificate",
  NATS_CERT_FILE: "tls: the service's client certificate (CN=<service>: its user when the cluster has accounts)",
  NATS_KEY_FILE: "tls: the client certificate's key",
  REDIS_NAT_MAP:
    'a Redis Cluster: JSON { "<announced host:port>": "<host:port the task dials>" } (ioredis natMap); REDIS_URL then lists every node, comma-separated',
  REDIS_PASSWORD: 'the password of a cache with auth: true',
  REDIS_CA_FILE: "a cache with tls: true: the CA that signed its servers' certificates",
}

/** the variables set only for a service that uses a cache */
export const REDIS_VARIABLES = ['REDIS_URL', 'REDIS_NAT_MAP', 'REDIS_PASSWORD', 'REDIS_CA_FILE']

const PLACEHOLDER = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/** The placeholder names a text uses (escaped `$${X}` aside). */
export function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].filter((m) => !m[1]).map((m) => m[2])
}

/** Fills `${NAME}` from `values`; a name without a value is left for the caller's validation to have caught. */
export function fillPlaceholders(text: string, values: Record<string, string | undefined>): string {
  return text.replace(PLACEHOLDER, (whole, escaped: string, name: string) => (escaped ? whole.slice(1) : (values[name] ?? '')))
}
