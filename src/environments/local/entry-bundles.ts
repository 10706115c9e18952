/**
 * Compiled entry points for the local environment's tasks: each `entry:` bundled once into one
 * JavaScript file with esbuild, so that a task starts as plain `node <file>` — no TypeScript
 * loader, no module resolution over hundreds of files — about three times less CPU per task start
 * on this machine, which `env up` pays once per task and a replacement pays again.
 *
 * Bundles live under .gameday/build/ and are rebuilt only when one of their inputs changed (size
 * or time). Anything that goes wrong falls back to running the entry with tsx, as before.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { REPO_ROOT } from '../../util/node-entry.ts'

const BUILD_DIR = join(REPO_ROOT, '.gameday', 'build')
/** ESM bundles of code that also uses require (CommonJS dependencies): give them one */
const BANNER = "import { createRequire as __gamedayRequire } from 'node:module'; const require = __gamedayRequire(import.meta.url);"

interface Inputs {
  files: [path: string, size: number, mtimeMs: number][]
}

const outputOf = (entry: string) => join(BUILD_DIR, `${entry.replace(/[^A-Za-z0-9]+/g, '_')}.mjs`)

function unchanged(inputs: Inputs): boolean {
  return inputs.files.every(([path, size, mtimeMs]) => {
    try {
      const s = statSync(path)
      return s.size === size && s.mtimeMs === mtimeMs
    } catch {
      return false // an input is gone: rebuild
    }
  })
}

/** The bundle of an entry (relative to the repository), built if missing or stale; undefined when it cannot be. */
export async function bundledEntry(entry: string): Promise<string | undefined> {
  const out = outputOf(entry)
  try {
    const inputs = JSON.parse(readFileSync(`${out}.inputs.json`, 'utf8')) as Inputs
    if (unchanged(inputs)) return out
  } catch {
    // no bundle yet (or a broken record of one): build it
  }
  try {
    const { build } = await import('esbuild')
    mkdirSync(BUILD_DIR, { recursive: true })
    // built beside, then renamed: another environment may be starting the same entry
    const tmp = `${out}.${process.pid}.tmp.mjs`
    const result = await build({
      entryPoints: [resolve(REPO_ROOT, entry)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: tmp,
      banner: { js: BANNER },
      keepNames: true,
      metafile: true,
      absWorkingDir: REPO_ROOT,
      logLevel: 'silent',
    })
    const files = Object.keys(result.metafile.inputs).map((p): Inputs['files'][number] => {
      const path = resolve(REPO_ROOT, p)
      const s = statSync(path)
      return [path, s.size, s.mtimeMs]
    })
    renameSync(tmp, out)
    writeFileSync(`${out}.inputs.json`, JSON.stringify({ files } satisfies Inputs))
    return out
  } catch (err) {
    process.stderr.write(`entry ${entry} runs with tsx: it could not be bundled (${(err as Error).message.split('\n')[0]})\n`)
    return undefined
  }
}

/** Every entry's bundle, built at once (esbuild works in parallel off this process's thread). */
export async function bundleEntries(entries: string[]): Promise<Record<string, string>> {
  const built = await Promise.all([...new Set(entries)].map(async (e) => [e, await bundledEntry(e)] as const))
  return Object.fromEntries(built.filter((b): b is readonly [string, string] => b[1] !== undefined))
}
