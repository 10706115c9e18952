// Whether dist/ (`npm run build`) reflects the TypeScript sources of this checkout: it must be
// newer than every source file, or a stale build would run. Shared by the launcher and benchmarks.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const SOURCE_DIRS = ['src', 'plugins', 'target', 'gen']

/** the newest modification time of a TypeScript source under the source folders (tests excepted) */
function newestSource(root) {
  let newest = 0
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs)
    }
  }
  for (const dir of SOURCE_DIRS) if (existsSync(join(root, dir))) walk(join(root, dir))
  return newest
}

/** 'fresh' | 'stale' | 'missing' (no build) | 'package' (an installed package: only the build is there) */
export function buildState(root) {
  const built = join(root, 'dist', 'src', 'cli', 'main.js')
  if (!existsSync(built)) return 'missing'
  if (!existsSync(join(root, 'src', 'cli', 'main.ts'))) return 'package'
  return statSync(built).mtimeMs >= newestSource(root) ? 'fresh' : 'stale'
}
