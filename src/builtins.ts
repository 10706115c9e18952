/** The registry every command starts from: the built-in plugins, registered like extensions. */
import { Registry } from './api/registry.ts'
import { builtins } from '../plugins/index.ts'

export function defaultRegistry(): Registry {
  return new Registry().register(builtins)
}
