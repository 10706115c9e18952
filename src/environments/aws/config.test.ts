import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { AllowListError, ValidationError } from '../../api/errors.ts'
import { DEFAULT_LIMITS, limitsFor, loadAwsConfig, parseAwsConfig, readSecret } from './config.ts'
import { EXAMPLE_FILE } from '../../../test/aws/support/mocked-account.ts'

const example = readFileSync(EXAMPLE_FILE, 'utf8')

function validationError(text: string): ValidationError {
  try {
    parseAwsConfig(text, 'aws.yaml')
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError)
    return err as ValidationError
  }
  throw new Error('expected a ValidationError')
}

describe('AWS environment file', () => {
  it('loads the shipped example', async () => {
    const cfg = await loadAwsConfig(EXAMPLE_FILE)
    expect(cfg.kind).toBe('aws')
    expect(cfg.region).toBe('eu-west-1')
    expect(Object.keys(cfg.ecs.services)).toEqual(['gateway', 'inventory', 'player-state', 'ai-integration'])
    expect(cfg.ecs.services.gateway).toMatchObject({ name: 'game-prod-gateway' })
    expect(cfg.ecs.services['ai-integration']).toMatchObject({ tags: { 'gameday:service': 'ai-integration' } })
    expect(cfg.nats.core.killMode).toBe('stop')
    expect(cfg.caches.cache.auth).toEqual({ fromEnv: 'GAMEDAY_REDIS_AUTH' })
    expect(cfg.fis?.maxDuration).toBe(30 * 60_000)
    expect(cfg.pollInterval).toBe(5000)
    expect(limitsFor(cfg, 'nats.kill-node').maxInstances).toBe(2)
    expect(limitsFor(cfg, 'nats.stop-node').maxInstances).toBe(1)
  })

  it('defaults the limits conservatively', () => {
    const text = example.replace(/^limits:[\s\S]*?(?=^timeouts:)/m, '')
    const cfg = parseAwsConfig(text)
    expect(limitsFor(cfg, 'ecs.stop-task')).toEqual(DEFAULT_LIMITS)
  })

  it('refuses an inline secret, with its line and column', () => {
    const text = example.replace('auth: { fromEnv: GAMEDAY_REDIS_AUTH }', 'auth: "hunter2"')
    const err = validationError(text)
    expect(err.message).toMatch(/inline secrets are not allowed/)
    expect(err.message).toMatch(/caches\.cache\.auth/)
    const line = text.split('\n').findIndex((l) => l.includes('hunter2')) + 1
    expect(err.issues[0]).toMatchObject({ file: 'aws.yaml', line })
  })

  it('refuses inline NATS credentials and passwords anywhere', () => {
    const creds = validationError(example.replace('credentials: { fromFile: ~/.gameday/gameday.creds }', 'credentials: "-----BEGIN NATS USER JWT-----"'))
    expect(creds.message).toMatch(/nats\.core\.auth\.credentials: inline secrets/)
    const seed = validationError(
      example.replace('# nkeySeed: { fromEnv: GAMEDAY_NATS_NKEY_SEED }', 'nkeySeed: SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY'),
    )
    expect(seed.message).toMatch(/nkeySeed: inline secrets/)
  })

  it('reports schema errors with positions', () => {
    const err = validationError(example.replace('killMode: stop ', 'killMode: explode '))
    expect(err.message).toMatch(/nats\.core\.killMode/)
    expect(err.issues[0].line).toBeGreaterThan(1)
    expect(validationError(example.replace('pollInterval: 5s', 'pollInterval: soon')).message).toMatch(/invalid duration/)
    expect(validationError(example + '\nsurprise: true\n').message).toMatch(/surprise/)
  })

  it('takes an endpoint override only over https, or plain http on loopback (signed calls are never sent in the clear)', () => {
    expect(parseAwsConfig(example + '\nendpoint: https://vpce-0abc.fis.eu-west-1.vpce.amazonaws.com\n').endpoint).toMatch(/^https:/)
    expect(parseAwsConfig(example + '\nendpoint: http://127.0.0.1:4566\n').endpoint).toBe('http://127.0.0.1:4566')
    expect(validationError(example + '\nendpoint: http://aws.internal:4566\n').message).toMatch(/endpoint: an endpoint must be https:\/\//)
  })

  it('refuses a file pointing outside its own allow-list, before any call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gameday-aws-'))
    const file = join(dir, 'aws.yaml')
    writeFileSync(file, example.replace('region: eu-west-1', 'region: us-east-1').replace(/az-(.): eu-west-1/g, 'az-$1: us-east-1'))
    await expect(loadAwsConfig(file)).rejects.toBeInstanceOf(AllowListError)
    writeFileSync(file, example.replace('cluster: game-prod', 'cluster: billing-prod'))
    await expect(loadAwsConfig(file)).rejects.toThrow(/ECS cluster billing-prod is not in allow.clusters/)
    writeFileSync(file, example.replace('accountId: "123456789012"', 'accountId: "210987654321"'))
    await expect(loadAwsConfig(file)).rejects.toThrow(/account 210987654321 is not in allow.accounts/)
    writeFileSync(file, example.replace('alarm:game-prod-gateway-5xx-rate', 'alarm:x').replace(':123456789012:alarm:x', ':999999999999:alarm:x'))
    await expect(loadAwsConfig(file)).rejects.toThrow(/999999999999 is not allowed/)
    rmSync(dir, { recursive: true, force: true })
  })

  it('resolves secrets from the environment or a file, only when asked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gameday-aws-'))
    writeFileSync(join(dir, 'redis.auth'), 's3cret\n')
    expect(readSecret({ fromFile: 'redis.auth' }, { baseDir: dir })).toBe('s3cret')
    expect(readSecret({ fromEnv: 'GAMEDAY_TEST_SECRET' }, { env: { GAMEDAY_TEST_SECRET: 'x' } })).toBe('x')
    expect(() => readSecret({ fromEnv: 'GAMEDAY_TEST_SECRET' }, { env: {} })).toThrow(/GAMEDAY_TEST_SECRET is not set/)
    rmSync(dir, { recursive: true, force: true })
  })
})
