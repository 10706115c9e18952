/**
 * Commands load only what they use: the modules `gameday --help` (or any command) loads before a
 * command is chosen, and those of the light commands, are checked by walking static imports
 * (`import()` is lazy and not followed). Timing is `npm run bench:cli`'s job; this keeps a stray
 * import from undoing it.
 */
import { readFileSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../util/node-entry.ts'

/** every module reachable from `entry` through static, value imports: repo files relative to the root, packages by name */
function staticClosure(entry: string): Map<string, string> {
  const seen = new Map<string, string>() // module → the module that first imported it
  const queue = [resolve(REPO_ROOT, entry)]
  seen.set(relative(REPO_ROOT, queue[0]), '(entry)')
  while (queue.length) {
    const file = queue.shift()!
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022)
    for (const stmt of source.statements) {
      const isValueImport = ts.isImportDeclaration(stmt) && !stmt.importClause?.isTypeOnly
      const isReExport = ts.isExportDeclaration(stmt) && !stmt.isTypeOnly && stmt.moduleSpecifier
      if (!isValueImport && !isReExport) continue
      const spec = ((stmt as ts.ImportDeclaration | ts.ExportDeclaration).moduleSpecifier as ts.StringLiteral).text
      if (spec.startsWith('node:')) continue
      const from = relative(REPO_ROOT, file)
      if (!spec.startsWith('.')) {
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]
        if (!seen.has(pkg)) seen.set(pkg, from)
        continue
      }
      const target = resolve(dirname(file), spec)
      const key = relative(REPO_ROOT, target)
      if (seen.has(key)) continue
      seen.set(key, from)
      queue.push(target)
    }
  }
  return seen
}

function chain(closure: Map<string, string>, mod: string): string {
  const path = [mod]
  while (closure.get(path[0]) && closure.get(path[0]) !== '(entry)') path.unshift(closure.get(path[0])!)
  return path.join(' → ')
}

function outside(closure: Map<string, string>, allowed: (mod: string) => boolean): string[] {
  return [...closure.keys()].filter((m) => !allowed(m)).map((m) => chain(closure, m))
}

describe('the command line loads only what a command uses', () => {
  it('before a command is chosen (--help, --version, errors): commander and a handful of our own modules', () => {
    const light = new Set(['commander', 'src/version.ts', 'src/util/node-entry.ts', 'src/api/errors.ts'])
    const allowed = (m: string) => light.has(m) || (m.startsWith('src/cli/') && !m.startsWith('src/cli/commands/')) || m === 'src/cli/commands/index.ts'
    expect(outside(staticClosure('src/cli/main.ts'), allowed)).toEqual([])
    expect(outside(staticClosure('src/cli/explain.ts'), allowed)).toEqual([])
  })

  it('check, report and init load neither the plugins nor the engine nor an environment', () => {
    const heavy = (m: string) => /^(plugins\/|src\/engine\/|src\/environments\/(?!locate)|src\/builtins|@nats-io|@aws-sdk|testcontainers|ioredis)/.test(m)
    for (const command of ['check', 'report', 'init']) {
      expect(
        outside(staticClosure(`src/cli/commands/${command}.ts`), (m) => !heavy(m)),
        command,
      ).toEqual([])
    }
  })

  it('the walk sees a heavy import where there is one (validate needs every plugin), so the checks above can fail', () => {
    const validate = staticClosure('src/cli/commands/validate.ts')
    expect(chain(validate, 'plugins/index.ts')).toBe('src/cli/commands/validate.ts → src/builtins.ts → plugins/index.ts')
    expect(validate.has('@nats-io/transport-node') || validate.has('@nats-io/nats-core')).toBe(true)
  })
})
