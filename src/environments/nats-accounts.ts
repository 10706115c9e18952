/**
 * NATS accounts for an environment that runs the production shape: the gateway and each service
 * in an account of its own, a user per account identified by its client certificate
 * (`verify_and_map`: the certificate's subject `CN=<service>` is the user, no password), and the
 * exports/imports that let exactly the calls the services make cross accounts:
 *
 *   an account <SERVICE> exports      service  <service>.>              its endpoints (request-reply)
 *                                     service  $SRV.*.<service>(.*)     the services protocol (PING, STATS, INFO), many replies
 *                                     stream   gameday.*.<service>      the events it publishes (breaker state)
 *   a caller imports the services it calls; gameday's own account (probes, readiness checks)
 *   imports everything every service exports, and has JetStream of its own (probe streams, KV).
 *
 * JetStream is enabled per account (a service's KV bucket and streams live in its account).
 * `SYS` is the system account.
 */

export const SYSTEM_ACCOUNT = 'SYS'
/** the account of gameday itself: probes, faults and readiness checks connect as its user */
export const GAMEDAY_ACCOUNT = 'GAMEDAY'
export const GAMEDAY_IDENTITY = 'gameday'

export interface ServiceAccess {
  name: string
  /** the services it sends requests to (default: none) */
  calls?: string[]
}

export interface Export {
  kind: 'service' | 'stream'
  subject: string
  /** services answered by several responders (requestMany) need `stream` */
  responseType?: 'singleton' | 'stream'
}

export interface Import {
  kind: 'service' | 'stream'
  account: string
  subject: string
}

export interface Account {
  name: string
  /** certificate subjects mapped to this account's users, e.g. `CN=gateway` */
  users: string[]
  jetstream: boolean
  exports: Export[]
  imports: Import[]
}

/** PLAYER_STATE for player-state: the account name of a service. */
export const accountOf = (service: string) => service.toUpperCase().replace(/[^A-Z0-9]+/g, '_')
/** The user a client certificate with subject CN=<identity> maps to. */
export const userOf = (identity: string) => `CN=${identity}`

function exportsOf(service: string): Export[] {
  return [
    { kind: 'service', subject: `${service}.>` },
    { kind: 'service', subject: `$SRV.*.${service}`, responseType: 'stream' },
    { kind: 'service', subject: `$SRV.*.${service}.*`, responseType: 'stream' },
    { kind: 'stream', subject: `gameday.*.${service}` },
  ]
}

const importsFrom = (service: string, kinds: 'calls' | 'everything'): Import[] =>
  exportsOf(service)
    .filter((e) => kinds === 'everything' || e.subject === `${service}.>`)
    .map((e) => ({ kind: e.kind, account: accountOf(service), subject: e.subject }))

/** The accounts of an environment's services, plus gameday's own and the system account. */
export function planAccounts(services: ServiceAccess[]): Account[] {
  const names = new Set(services.map((s) => s.name))
  const accounts: Account[] = services.map((s) => {
    for (const callee of s.calls ?? []) if (!names.has(callee)) throw new Error(`service ${s.name} calls ${callee}, which is not a service of this environment`)
    return {
      name: accountOf(s.name),
      users: [userOf(s.name)],
      jetstream: true,
      exports: exportsOf(s.name),
      imports: (s.calls ?? []).flatMap((callee) => importsFrom(callee, 'calls')),
    }
  })
  const seen = new Set<string>()
  for (const a of accounts) {
    if (seen.has(a.name) || a.name === GAMEDAY_ACCOUNT || a.name === SYSTEM_ACCOUNT)
      throw new Error(`two services share the NATS account ${a.name}: rename one`)
    seen.add(a.name)
  }
  accounts.push({
    name: GAMEDAY_ACCOUNT,
    users: [userOf(GAMEDAY_IDENTITY)],
    jetstream: true,
    exports: [],
    imports: services.flatMap((s) => importsFrom(s.name, 'everything')),
  })
  accounts.push({ name: SYSTEM_ACCOUNT, users: [], jetstream: false, exports: [], imports: [] })
  return accounts
}

const q = (s: string) => JSON.stringify(s)

/** The `accounts { }` block and `system_account`, in nats-server configuration syntax. */
export function accountsConfig(accounts: Account[]): string {
  const lines = ['accounts {']
  for (const a of accounts) {
    lines.push(`  ${a.name}: {`)
    if (a.users.length) lines.push(`    users: [`, ...a.users.map((u) => `      { user: ${q(u)} }`), `    ]`)
    if (a.jetstream) lines.push(`    jetstream: enabled`)
    if (a.exports.length)
      lines.push(
        `    exports: [`,
        ...a.exports.map((e) => `      { ${e.kind}: ${q(e.subject)}${e.responseType ? `, response_type: ${e.responseType}` : ''} }`),
        `    ]`,
      )
    if (a.imports.length)
      lines.push(`    imports: [`, ...a.imports.map((i) => `      { ${i.kind}: { account: ${i.account}, subject: ${q(i.subject)} } }`), `    ]`)
    lines.push(`  }`)
  }
  lines.push('}', `system_account: ${SYSTEM_ACCOUNT}`)
  return lines.join('\n')
}
