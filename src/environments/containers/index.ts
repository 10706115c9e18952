import type { Environment } from '../../api/environment.ts'
import type { YamlSource } from '../../experiment/yaml-source.ts'
import { ValidationError } from '../../api/errors.ts'

export async function loadContainersEnvironment(file: string, _source: YamlSource): Promise<Environment> {
  throw new ValidationError(`${file}: the containers environment is not built yet`)
}
