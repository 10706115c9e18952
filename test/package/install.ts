/**
 * Installing a packed gameday into a new project, as a user's `npm install -D ./gameday.tgz`
 * would, without the network: npm installs from a lockfile whose entries are this repository's own
 * (same versions and integrity, so every tarball is in npm's cache already). The dependencies are
 * installed once per set of versions into a prepared copy (os.tmpdir()/gameday-package-deps-<hash>)
 * and hard-linked into each new project, so only gameday itself is installed each time.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

interface LockEntry {
  version?: string
  dev?: boolean
  devOptional?: boolean
  optional?: boolean
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  [key: string]: unknown
}

interface Lock {
  packages: Record<string, LockEntry>
}

/** where node would find `name` from the package installed at `from` (a lockfile path like node_modules/a/node_modules/b) */
function locate(packages: Lock['packages'], from: string, name: string): string | undefined {
  for (let base = from; ;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`
    if (packages[candidate]) return candidate
    if (!base) return undefined
    const i = base.lastIndexOf('/node_modules/')
    base = i < 0 ? '' : base.slice(0, i)
  }
}

/** the lockfile entries needed by `roots` (name → wanted version), found in `lock` the way node resolves */
function closure(lock: Lock, roots: Record<string, string>): Record<string, LockEntry> {
  const out: Record<string, LockEntry> = {}
  const queue: string[] = []
  const add = (from: string, name: string, optional: boolean) => {
    const path = locate(lock.packages, from, name)
    if (!path) {
      if (optional) return
      throw new Error(`package-lock.json has no ${name} for ${from || 'the project'}: run npm install`)
    }
    if (out[path]) return
    const { dev: _dev, devOptional: _devOptional, ...entry } = lock.packages[path]
    out[path] = { ...entry, dev: true } // the user installs gameday as a dev dependency
    queue.push(path)
  }
  for (const name of Object.keys(roots)) add('', name, false)
  while (queue.length) {
    const path = queue.shift()!
    const entry = lock.packages[path]
    for (const name of Object.keys(entry.dependencies ?? {})) add(path, name, false)
    for (const name of Object.keys(entry.optionalDependencies ?? {})) add(path, name, true)
    for (const name of Object.keys(entry.peerDependencies ?? {})) add(path, name, true)
  }
  return out
}

function npm(args: string[], cwd: string): void {
  execFileSync('npm', [...args, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: cleanEnv(),
  })
}

/** the environment without what an enclosing `npm test` sets for its own project */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|GAMEDAY_|VITEST|NODE_OPTIONS$)/i.test(k)))
  return { ...env, ...extra }
}

/**
 * Makes `dir` a project with `devDependencies` (name → version: gameday's own dev tools, e.g.
 * vitest) and gameday installed from `tarball`. `repo` is the gameday checkout whose lockfile
 * gives the versions.
 */
export function installProject(opts: { repo: string; tarball: string; dir: string; devDependencies: Record<string, string> }): void {
  const lock = JSON.parse(readFileSync(join(opts.repo, 'package-lock.json'), 'utf8')) as Lock
  const pkg = JSON.parse(readFileSync(join(opts.repo, 'package.json'), 'utf8')) as {
    version: string
    license: string
    bin: Record<string, string>
    engines: Record<string, string>
    dependencies: Record<string, string>
    peerDependencies: Record<string, string>
    peerDependenciesMeta: Record<string, unknown>
  }
  const deps = closure(lock, { ...pkg.dependencies, ...opts.devDependencies })
  const manifest = (devDependencies: Record<string, string>) =>
    JSON.stringify({ name: 'studio-backend', private: true, type: 'module', devDependencies }, null, 2)
  const lockfile = (devDependencies: Record<string, string>, packages: Record<string, LockEntry>) =>
    JSON.stringify(
      { name: 'studio-backend', lockfileVersion: 3, requires: true, packages: { '': { name: 'studio-backend', devDependencies }, ...packages } },
      null,
      2,
    )

  // the prepared copy: gameday's dependencies and the project's dev tools, without gameday
  const key = createHash('sha256').update(JSON.stringify(deps)).digest('hex').slice(0, 16)
  const prepared = join(tmpdir(), `gameday-package-deps-${key}`)
  if (!existsSync(join(prepared, 'node_modules'))) {
    const building = mkdtempSync(`${prepared}-building-`)
    const rootDeps = { ...pkg.dependencies, ...opts.devDependencies }
    writeFileSync(join(building, 'package.json'), manifest(rootDeps))
    writeFileSync(join(building, 'package-lock.json'), lockfile(rootDeps, deps))
    npm(['ci', '--ignore-scripts'], building)
    try {
      renameSync(building, prepared)
    } catch {
      rmSync(building, { recursive: true, force: true }) // another run prepared the same copy first: use that one
    }
  }

  // the project: the prepared node_modules hard-linked, then `npm install` adds gameday from the tarball
  mkdirSync(opts.dir, { recursive: true })
  execFileSync('cp', ['-al', join(prepared, 'node_modules'), join(opts.dir, 'node_modules')])
  const devDependencies = { gameday: `file:${opts.tarball}`, ...opts.devDependencies }
  const integrity = `sha512-${createHash('sha512').update(readFileSync(opts.tarball)).digest('base64')}`
  const gameday: LockEntry = {
    version: pkg.version,
    resolved: `file:${opts.tarball}`,
    integrity,
    dev: true,
    license: pkg.license,
    dependencies: pkg.dependencies,
    bin: pkg.bin,
    engines: pkg.engines,
    peerDependencies: pkg.peerDependencies,
    peerDependenciesMeta: pkg.peerDependenciesMeta,
  }
  writeFileSync(join(opts.dir, 'package.json'), manifest(devDependencies))
  writeFileSync(join(opts.dir, 'package-lock.json'), lockfile(devDependencies, { 'node_modules/gameday': gameday, ...deps }))
  npm(['install', '--ignore-scripts'], opts.dir)
  if (!existsSync(join(opts.dir, 'node_modules/.bin/gameday'))) throw new Error(`npm install left no node_modules/.bin/gameday in ${opts.dir}`)
}
