/**
 * Where probe and fault types are looked up by name. Built-ins register themselves through the
 * same calls users' extensions use (an experiment's `extensions:` modules export `probes` and/or
 * `faults` arrays), so there is one way in.
 */
import { pathToFileURL } from 'node:url'
import type { FaultType } from './fault.ts'
import type { ProbeType } from './probe.ts'

export interface Extension {
  probes?: ProbeType<any>[]
  faults?: FaultType<any, any>[]
}

let tsxRegistered = false

export class Registry {
  private readonly probes = new Map<string, ProbeType<any>>()
  private readonly faults = new Map<string, FaultType<any, any>>()

  registerProbe(probe: ProbeType<any>): this {
    if (this.probes.has(probe.type)) throw new Error(`probe type "${probe.type}" is registered twice`)
    this.probes.set(probe.type, probe)
    return this
  }

  registerFault(fault: FaultType<any, any>): this {
    if (this.faults.has(fault.type)) throw new Error(`fault type "${fault.type}" is registered twice`)
    this.faults.set(fault.type, fault)
    return this
  }

  register(extension: Extension): this {
    for (const p of extension.probes ?? []) this.registerProbe(p)
    for (const f of extension.faults ?? []) this.registerFault(f)
    return this
  }

  probe(type: string): ProbeType<any> | undefined {
    return this.probes.get(type)
  }

  fault(type: string): FaultType<any, any> | undefined {
    return this.faults.get(type)
  }

  probeTypes(): string[] {
    return [...this.probes.keys()].sort()
  }

  faultTypes(): string[] {
    return [...this.faults.keys()].sort()
  }

  /** a copy, so one experiment's extensions don't leak into the next */
  clone(): Registry {
    const copy = new Registry()
    for (const p of this.probes.values()) copy.registerProbe(p)
    for (const f of this.faults.values()) copy.registerFault(f)
    return copy
  }

  async loadExtension(modulePath: string): Promise<void> {
    // Extensions are usually TypeScript: make sure a loader is in place even when gameday itself runs compiled.
    if (/\.[cm]?ts$/.test(modulePath) && !tsxRegistered) {
      const { register } = await import('tsx/esm/api')
      register()
      tsxRegistered = true
    }
    const mod = (await import(pathToFileURL(modulePath).href)) as Extension & { default?: Extension }
    const ext: Extension = { probes: mod.probes ?? mod.default?.probes, faults: mod.faults ?? mod.default?.faults }
    if (!ext.probes?.length && !ext.faults?.length) {
      throw new Error(`${modulePath}: exports no \`probes\` or \`faults\` array`)
    }
    this.register(ext)
  }
}
