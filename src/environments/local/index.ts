/** The local environment (`--env local`, kind: local): see environment.ts. Loaded through ../kinds.ts. */
import type { Environment } from '../../api/environment.ts'
import type { LocalConfig } from './config.ts'
import { LocalEnvironment } from './environment.ts'

export { LocalEnvironment } from './environment.ts'

export function createLocalEnvironment(file: string, config: LocalConfig): Environment {
  return new LocalEnvironment(config, file)
}
