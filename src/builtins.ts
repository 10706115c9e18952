/** The registry every command starts from: built-in probes and faults, registered like extensions. */
import { Registry } from './api/registry.ts'
import { builtInProbes } from '../probes/index.ts'
import { builtInFaults } from './faults/index.ts'
import { awsFaults } from './faults/aws/index.ts'

export function defaultRegistry(): Registry {
  return new Registry().register({ probes: builtInProbes, faults: [...builtInFaults, ...awsFaults] })
}
