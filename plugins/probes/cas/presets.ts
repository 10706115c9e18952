/**
 * `store: player-state` is not code of its own: it is one nats-request mapping, the one for the
 * reference target's player-state service, against the descriptor set `npm run generate` builds
 * from proto/ (gen/gameday.binpb). Any other service is judged by writing its own mapping.
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { NatsRequestConfig } from './nats-request-store.ts'

export const GAMEDAY_DESCRIPTORS = 'gen/gameday.binpb'

/** gen/gameday.binpb of the Gameday package this file belongs to (searched upwards, so a built copy finds it too). */
export function gamedayDescriptorSet(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, GAMEDAY_DESCRIPTORS)
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) return GAMEDAY_DESCRIPTORS // not built: the loader says how to build it
    dir = parent
  }
}

export function playerStatePreset(): NatsRequestConfig {
  const message = (name: string) => `gameday.v1.${name}`
  return {
    descriptors: gamedayDescriptorSet(),
    status: { header: 'Nats-Service-Error-Code' },
    absent: [404],
    conflict: [409],
    read: {
      subject: 'player-state.get',
      request: message('GetPlayerStateRequest'),
      response: message('GetPlayerStateResponse'),
      key: 'player_id',
      value: 'state',
      version: 'version',
    },
    cas: {
      subject: 'player-state.update',
      request: message('UpdatePlayerStateRequest'),
      response: message('UpdatePlayerStateResponse'),
      key: 'player_id',
      value: 'state',
      expectedVersion: 'expected_version',
      version: 'version',
    },
    write: {
      subject: 'player-state.update',
      request: message('UpdatePlayerStateRequest'),
      response: message('UpdatePlayerStateResponse'),
      key: 'player_id',
      value: 'state',
      version: 'version',
    },
  }
}
