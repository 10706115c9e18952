/** One fake AWS account on loopback with real nats-servers for its instances, for a whole test file. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FakeAwsServer } from './fake-aws/server.ts'
import { writeFakeEnvFile } from './fake-env.ts'
import { NatsInstances } from './nats-instances.ts'
import type { Harness } from './crash.ts'

export async function startHarness(): Promise<Harness & { close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-aws-e2e-'))
  const nats = await NatsInstances.start()
  const aws = await FakeAwsServer.start()
  const envFile = writeFakeEnvFile(dir, { endpoint: aws.endpoint, nats: { clientPort: nats.clientPort, monitorPort: nats.monitorPort } })
  return {
    dir,
    aws,
    nats,
    envFile,
    async close() {
      await aws.close()
      await nats.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
