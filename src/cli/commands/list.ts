/** `gameday list`: the probe and fault types available (built in; an experiment's extensions add more). */
import type { Command } from 'commander'
import { defaultRegistry } from '../../builtins.ts'
import { onRun } from '../command.ts'
import { log } from '../output.ts'

export function define(cmd: Command): void {
  onRun(cmd, () => {
    const registry = defaultRegistry()
    log.info('probes:')
    for (const t of registry.probeTypes()) log.info(`  ${t.padEnd(24)} ${registry.probe(t)!.description}`)
    log.info('faults:')
    for (const t of registry.faultTypes()) log.info(`  ${t.padEnd(24)} ${registry.fault(t)!.description}`)
  })
}
