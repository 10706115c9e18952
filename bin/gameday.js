#!/usr/bin/env node
// Launcher: runs the compiled CLI when it has been built, the TypeScript sources otherwise,
// so `npx gameday` works both from a built install and from a fresh checkout.
import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { dirname, join } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const built = join(root, 'dist', 'src', 'cli', 'main.js')
if (existsSync(built) && !process.env.GAMEDAY_FROM_SOURCE) {
  await import(pathToFileURL(built).href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href)
}
