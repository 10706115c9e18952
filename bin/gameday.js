#!/usr/bin/env node
// Launcher. Installed as a package, Gameday runs compiled (dist/). In a checkout it runs dist/ when
// `npm run build` made it after the last change to the sources, and the TypeScript sources through
// tsx otherwise: a stale build is never run (GAMEDAY_FROM_SOURCE=1 forces the sources).
import { existsSync } from 'node:fs'
import { register } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildState } from './build-freshness.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const source = join(root, 'src', 'cli', 'main.ts')
const state = process.env.GAMEDAY_FROM_SOURCE ? 'forced' : buildState(root)

if (process.env.GAMEDAY_DEBUG) process.setSourceMapsEnabled(true)
if (state === 'fresh' || state === 'package') {
  await import(pathToFileURL(join(root, 'dist', 'src', 'cli', 'main.js')).href)
} else if (existsSync(source)) {
  if (state === 'stale' && process.stderr.isTTY)
    process.stderr.write('gameday: dist/ is older than the sources, running those (slower); `npm run build` to speed up\n')
  const { register: registerTsx } = await import('tsx/esm/api')
  registerTsx()
  // `import … from 'gameday'` in an extension resolves to these sources, not to dist/
  register('./source-condition.js', import.meta.url)
  await import(pathToFileURL(source).href)
} else {
  process.stderr.write(`gameday: ${join(root, 'dist')} is missing: this copy of gameday is incomplete\nhint: install it again (npm install -D gameday)\n`)
  process.exit(2)
}
