/**
 * inventory: `inventory.get` → a deterministic fake inventory for a player id, after a little
 * async work (WORK_DELAY_MS, default 2 ms; raise it to make the service slow on purpose).
 */
import { create } from '@bufbuild/protobuf'
import { setTimeout as delay } from 'node:timers/promises'
import { createHash } from 'node:crypto'
import { GetInventoryRequestSchema, GetInventoryResponseSchema, ItemSchema } from '../../gen/gameday/v1/inventory_pb.ts'
import { endpoint, runService } from '../lib/service.ts'
import { checkPlayerId } from '../lib/errors.ts'
import { intFromEnv } from '../lib/env.ts'

const CATALOG = [
  ['sword-01', 'Bronze Sword'],
  ['shield-02', 'Oak Shield'],
  ['potion-03', 'Health Potion'],
  ['gem-04', 'Blue Gem'],
  ['arrow-05', 'Arrow'],
  ['map-06', 'Old Map'],
] as const

/** Same player id, same inventory, on every task. */
export function fakeInventory(playerId: string) {
  const digest = createHash('sha256').update(playerId).digest()
  const items = CATALOG.filter((_, i) => digest[i]! % 2 === 0).map(([sku, name], i) => create(ItemSchema, { sku, name, quantity: 1 + (digest[8 + i]! % 20) }))
  return { items, gold: BigInt(digest.readUInt32BE(16) % 100_000) }
}

await runService({
  name: 'inventory',
  version: '1.0.0',
  description: 'Player inventories (deterministic fake)',
  async setup({ env }) {
    const workDelayMs = intFromEnv(env.raw, 'WORK_DELAY_MS', 2)
    return {
      readyFields: { workDelayMs },
      endpoints: [
        endpoint({
          name: 'get',
          input: GetInventoryRequestSchema,
          output: GetInventoryResponseSchema,
          async handle(req) {
            const playerId = checkPlayerId(req.playerId)
            await delay(workDelayMs)
            return create(GetInventoryResponseSchema, { playerId, ...fakeInventory(playerId), servedBy: env.taskId })
          },
        }),
      ],
    }
  },
})
