/**
 * Environment files that a run would trip on are refused at load, each problem with file:line:col
 * and a next step: no clusters, duplicate node names, a service with no way to run, a duration
 * that is none, unknown names (caches, placeholders, keys), an image on local, a command without
 * an image on containers, a stateDir that would put the repository or the home folder at risk.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ValidationError } from '../api/errors.ts'
import { REPO_ROOT } from '../util/node-entry.ts'
import { loadEnvironment } from './load.ts'

const dir = mkdtempSync(join(tmpdir(), 'gameday-envfile-'))
let n = 0

/** Loads an environment file with this text; the error's message, or '' when it loads. */
async function problems(text: string): Promise<{ file: string; message: string }> {
  const file = join(dir, `env-${++n}.yaml`)
  writeFileSync(file, text)
  try {
    await loadEnvironment(file)
    return { file, message: '' }
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError)
    return { file, message: (err as Error).message }
  }
}

const NODES = 'clusters:\n  core:\n    nodes:\n      - { name: n1, az: az-a }\n      - { name: n2, az: az-b }\n'

describe('local and containers environment files', () => {
  it('a sound file loads', async () => {
    expect((await problems(`kind: local\nstateDir: ${join(dir, 'state')}\n${NODES}services:\n  gw: { entry: target/gateway.ts, http: true }\n`)).message).toBe(
      '',
    )
  })

  it('clusters: {} — no cluster to run', async () => {
    const { file, message } = await problems('kind: local\nclusters: {}\n')
    expect(message).toBe(`${file}:2:1: no cluster: add one, e.g. clusters: { core: { nodes: [{ name: n1, az: az-a }] } }`)
  })

  it('duplicate node names, within a cluster and across clusters', async () => {
    const { file, message } = await problems(
      'kind: containers\nclusters:\n  core:\n    nodes:\n      - { name: n1, az: az-a }\n      - { name: n1, az: az-b }\n  edge:\n    nodes:\n      - { name: n2, az: az-a }\n      - { name: n1, az: az-c }\n',
    )
    expect(message.split('\n')).toEqual([
      `${file}:6:11: node name n1 is already used (cluster core, node 1): node names must be unique across the file; rename one`,
      `${file}:10:11: node name n1 is already used (cluster core, node 1): node names must be unique across the file; rename one`,
    ])
  })

  it('a service with none of entry, command or image', async () => {
    const local = await problems(`kind: local\n${NODES}services:\n  inventory:\n    instances: 2\n`)
    expect(local.message).toBe(`${local.file}:8:3: service inventory has no way to run: give \`entry: path/to/main.ts\` or \`command: [executable, args…]\``)
    const containers = await problems(`kind: containers\n${NODES}services:\n  inventory: { instances: 2 }\n`)
    expect(containers.message).toBe(
      `${containers.file}:8:3: service inventory has no way to run: give \`image: name:tag\` (optionally with \`command:\`) or \`entry: path/to/main.ts\``,
    )
  })

  it('an image on local, a command without an image on containers, entry and command both', async () => {
    const local = await problems(`kind: local\n${NODES}services:\n  inv:\n    image: registry/inventory:1.4.2\n`)
    expect(local.message).toMatch(/:9:5: the local environment runs processes, not images: give `entry:` or `command:`/)
    const containers = await problems(`kind: containers\n${NODES}services:\n  inv:\n    command: [python3, -m, inventory_service]\n`)
    expect(containers.message).toMatch(/:9:5: on containers a command runs inside an image: add `image: name:tag`/)
    const both = await problems(`kind: local\n${NODES}services:\n  inv:\n    entry: a.ts\n    command: [python3]\n`)
    expect(both.message).toMatch(/:10:5: give `entry:` or `command:`, not both/)
  })

  it('stopGrace: soon, and durations past a day', async () => {
    const { file, message } = await problems(
      `kind: local\n${NODES}services:\n  gw:\n    entry: target/gateway.ts\n    stopGrace: soon\n    readyTimeout: 700h\n`,
    )
    expect(message.split('\n')).toEqual([
      `${file}:10:5: a duration like 500ms, 10s or 2m`,
      `${file}:11:5: duration 700h is longer than the 24h a step, probe or guardrail may last`,
    ])
  })

  it('unknown names: a cache, a placeholder, a key — each with what there is', async () => {
    const { file, message } = await problems(
      `kind: local\n${NODES}caches:\n  cache: {}\nservices:\n  inv:\n    command: [python3, --port, "\${PORT}"]\n    caches: [cahce]\n    env: { A: "\${NATS_URLS}", B: "$\${LITERAL}", C: "\${REDIS_URL}" }\n    readyness: { tcp: true }\n`,
    )
    const lines = message.split('\n')
    expect(lines).toContain(
      `${file}:14:5: unknown key "readyness": the keys here are entry, command, image, cwd, instances, http, caches, calls, env, ready, stopGrace, deregistrationDelay, readyTimeout`,
    )
    expect(lines).toContain(`${file}:12:14: unknown cache "cahce" (caches: cache): define it under caches: or fix the name`)
    expect(lines).toContain(
      `${file}:13:12: unknown placeholder \${NATS_URLS}: one of NATS_URL, REDIS_URL, PORT, TASK_ID, AZ, SERVICE, STOP_GRACE_MS, NATS_CA_FILE, NATS_CERT_FILE, NATS_KEY_FILE, REDIS_NAT_MAP, REDIS_PASSWORD, REDIS_CA_FILE (write $\${…} for a literal)`,
    )
    expect(lines).toContain(`${file}:11:32: \${PORT} is set only for a service with \`http: true\` or \`ready: { tcp: true }\` / \`{ http: … }\``)
    expect(lines.filter((l) => l.includes('LITERAL'))).toEqual([]) // $${…} is a literal
    expect(lines).toHaveLength(4) // ${REDIS_URL} is fine: the service names a cache (if a wrong one)
  })

  it('the production shape: accounts without tls, a call to no service, a Redis Cluster its AZs cannot spread, a key of another cache mode', async () => {
    const { file, message } = await problems(
      `kind: local\nclusters:\n  core:\n    accounts: true\n    nodes:\n      - { name: n1, az: az-a }\ncaches:\n  cache: { mode: cluster, replicasPerShard: 1 }\n  other: { az: az-a, shards: 3 }\nservices:\n  gw:\n    entry: target/gateway.ts\n    calls: [inventry]\n    env: { P: "\${REDIS_PASSWORD}" }\n`,
    )
    const lines = message.split('\n')
    expect(lines).toContain(`${file}:4:5: accounts: true maps each client certificate to its user: add tls: true to this cluster`)
    expect(lines).toContain(
      `${file}:8:27: 1 replica(s) per shard in other AZs than their primary need 2 AZs, and the environment's NATS nodes name 1 (az-a): add AZs or lower replicasPerShard`,
    )
    expect(lines).toContain(`${file}:9:22: unknown key "shards"`)
    expect(lines).toContain(`${file}:13:13: unknown service "inventry" (services: gw): calls: names the services it sends requests to`)
    expect(lines).toContain(`${file}:14:12: \${REDIS_PASSWORD} is set only for a service with \`caches: [<cache>]\``)
    expect(lines).toHaveLength(5)
  })

  it('a sound production shape loads: the shipped local-secure and Redis Cluster files', async () => {
    for (const name of [
      'local-secure',
      'local-redis-cluster',
      'local-redis-cluster-wait',
      'containers-secure',
      'containers-redis-cluster',
      'containers-redis-cluster-wait',
    ])
      await expect(loadEnvironment(join(REPO_ROOT, 'environments', `${name}.yaml`))).resolves.toBeDefined()
  })

  it('a ready: that is none of the forms names the forms', async () => {
    const { file, message } = await problems(`kind: local\n${NODES}services:\n  inv:\n    entry: a.ts\n    ready: { nats: inventory }\n`)
    expect(message).toBe(`${file}:10:5: ready must be one of { http: /path }, { natsService: <name> }, { log: "<regex>" }, { tcp: true }`)
    const bad = await problems(`kind: local\n${NODES}services:\n  inv:\n    entry: a.ts\n    ready: { log: "([" }\n`)
    expect(bad.message).toMatch(/:10:14: not a valid regular expression$/)
  })

  it('stateDir: ., the repository, the home folder or an ancestor of them is refused at its line', async () => {
    for (const [stateDir, why] of [
      ['.', 'it is the repository'],
      [relative(REPO_ROOT, homedir()) || '~', 'it is your home directory'],
      ['..', `it holds the repository (${REPO_ROOT})`],
      ['/', 'it is the filesystem root'],
    ]) {
      const { file, message } = await problems(`kind: local\nstateDir: ${JSON.stringify(stateDir)}\n${NODES}`)
      expect(message).toBe(
        `${file}:2:1: stateDir ${JSON.stringify(stateDir)} cannot hold an environment: ${why}, and \`env down\` deletes what it created there; use a folder of its own, e.g. .gameday/local`,
      )
    }
  })
})
