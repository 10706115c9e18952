/**
 * The cas-correctness probe's parameters: which store, how to reach it, and the workload. The
 * mappings of the stores that drive a service's own API (http, nats-request) are checked here,
 * descriptor set included, so `gameday validate` points at a wrong message or field name
 * (file:line:col) before anything runs.
 */
import { z } from 'zod'
import { Duration } from '../../../src/api/index.ts'
import { HttpStoreConfig } from './http-store.ts'
import { mappingProblems, NatsRequestConfig } from './nats-request-store.ts'
import { playerStatePreset } from './presets.ts'

export const STORES = ['nats-kv', 'redis', 'player-state', 'http', 'nats-request'] as const
export type StoreKind = (typeof STORES)[number]

/** per operation, in ms */
export const DEFAULT_TIMEOUT: Record<StoreKind, number> = { 'nats-kv': 1000, redis: 500, 'player-state': 3000, http: 3000, 'nats-request': 3000 }

/** contention rounds when `contention:` is not written */
export const CONTENTION_DEFAULTS = { contenders: 8, rate: 20 }

export const Params = z
  .strictObject({
    store: z.enum(STORES).default('nats-kv'),
    cluster: z.string().default('core').describe('nats-kv, nats-request, player-state: the NATS cluster'),
    cache: z.string().optional().describe('redis: the cache (default: the only one)'),
    bucket: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('gameday-cas')
      .describe('nats-kv: the bucket, created if missing (allow_direct: false)'),
    replicas: z.int().min(1).max(5).default(3).describe('nats-kv: replicas of the bucket when the probe creates it'),
    history: z.int().min(1).max(64).default(16).describe('nats-kv: revisions kept per key when the probe creates the bucket (shown with a counterexample)'),
    http: HttpStoreConfig.optional().describe('store: http — the service’s HTTP API (request templates, JSON pointers, statuses)'),
    natsRequest: NatsRequestConfig.optional().describe('store: nats-request — subjects, messages of a descriptor set, field mappings'),
    mode: z
      .enum(['mixed', 'contention'])
      .default('mixed')
      .describe('mixed: a random read / write / cas mix at `rate`; contention: rounds where every contender CASes one key from one version at once'),
    contention: z
      .strictObject({
        contenders: z
          .int()
          .min(2)
          .max(64)
          .default(CONTENTION_DEFAULTS.contenders)
          .describe('clients that read one version and compare-and-set it at once, per key'),
        rate: z.number().positive().default(CONTENTION_DEFAULTS.rate).describe('rounds per second, all keys together'),
      })
      .optional()
      .describe('mode: contention'),
    keys: z.int().min(1).max(32).default(3).describe('register keys (reads, writes, cas)'),
    counter: z.boolean().default(true).describe('also increment a counter key by CAS (the no-lost-update invariant)'),
    clients: z.int().min(1).max(64).default(6).describe('mode: mixed'),
    rate: z.number().positive().default(60).describe('mode: mixed — operations per second, all clients together'),
    mix: z
      .strictObject({ read: z.number().nonnegative(), write: z.number().nonnegative(), cas: z.number().nonnegative() })
      .default({ read: 0.45, write: 0.1, cas: 0.45 })
      .describe('mode: mixed — register operation weights; blind writes are kept rare (an indeterminate one can land anywhere)'),
    maxInFlightPerKey: z.int().positive().default(2).describe('mode: mixed'),
    timeout: Duration.optional().describe('per operation, then indeterminate (default: nats-kv 1s, redis 500ms, http / nats-request / player-state 3s)'),
    budget: Duration.prefault('10s').describe('time budget of the linearizability check; spent = unknown = a violation'),
    recoveryTimeout: Duration.prefault('60s').describe('at stop: how long to wait for the store to answer before the final read'),
    broken: z
      .enum(['skip-compare', 'ack-without-store'])
      .optional()
      .describe('TEST ONLY: a deliberately broken adapter (cas without compare; every 4th write/cas acknowledged, not stored)'),
  })
  .superRefine((p, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message })
    if (p.store === 'http' && !p.http) issue(['http'], 'store: http needs `http:` (read and cas requests, value / version pointers)')
    if (p.store !== 'http' && p.http) issue(['http'], `\`http:\` is for store: http (this is store: ${p.store})`)
    if (p.store === 'nats-request' && !p.natsRequest) issue(['natsRequest'], 'store: nats-request needs `natsRequest:` (descriptors, read and cas calls)')
    if (p.store !== 'nats-request' && p.natsRequest)
      issue(
        ['natsRequest'],
        p.store === 'player-state'
          ? 'store: player-state is a fixed mapping; to change it, write it out as store: nats-request'
          : `\`natsRequest:\` is for store: nats-request (this is store: ${p.store})`,
      )
    if (p.mode !== 'contention' && p.contention) issue(['contention'], '`contention:` applies with mode: contention')
    if (p.mode === 'contention' && p.broken === 'skip-compare') issue(['broken'], 'skip-compare makes blind writes: use it with mode: mixed')
    if (p.store === 'player-state') {
      const [problem] = mappingProblems(playerStatePreset())
      if (problem) issue(['store'], `store: player-state maps the reference target's own schemas: ${problem.message} (in a Gameday checkout: npm run generate)`)
    }
    if (p.natsRequest && p.store === 'nats-request')
      for (const problem of mappingProblems(p.natsRequest)) issue(['natsRequest', ...problem.at], problem.message)
  })
export type Params = z.infer<typeof Params>
