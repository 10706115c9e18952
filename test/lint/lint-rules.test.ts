/**
 * Gameday's own lint rules, run through ESLint with the repository's config as `npm run lint`
 * runs them: a built-in that reaches past the public API fails the build.
 */
import { join } from 'node:path'
import { ESLint } from 'eslint'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../src/util/node-entry.ts'

const eslint = new ESLint({ cwd: REPO_ROOT })

async function lint(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(REPO_ROOT, file) })
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`)
}

describe('plugins-use-public-api', () => {
  it('lets a built-in import the public API, its own siblings and packages', async () => {
    const code = [
      "import { z } from 'zod'",
      "import { defineProbe } from '../../src/api/index.ts'",
      "import { helper } from './cas/workload.ts'",
      'export const p = [z, defineProbe, helper]',
    ].join('\n')
    expect(await lint('plugins/probes/new-probe.ts', code)).toEqual([])
  })

  it.each([
    ['the engine', "import { runExperiment } from '../../src/engine/run.ts'", 'src/engine/run.ts'],
    ['an API module other than the index', "import { Registry } from '../../src/api/registry.ts'", 'src/api/registry.ts'],
    ['a utility', "import { sleep } from '../../src/util/abort.ts'", 'src/util/abort.ts'],
    ['the reference target', "import { start } from '../../target/gateway.ts'", 'target/gateway.ts'],
    ['generated code', "import { X } from '../../gen/gameday/v1/common_pb.ts'", 'gen/gameday/v1/common_pb.ts'],
    ['an environment', "export { LocalEnvironment } from '../../src/environments/local/environment.ts'", 'src/environments/local/environment.ts'],
  ])('fails a built-in that imports %s', async (_what, line, target) => {
    const used = /\{ (\w+) \}/.exec(line)![1]
    const messages = await lint('plugins/probes/new-probe.ts', `${line}\nexport const x = ${line.startsWith('export') ? 1 : used}\n`)
    expect(messages).toEqual([
      expect.stringMatching(new RegExp(`^gameday/plugins-use-public-api: ${target.replaceAll('.', '\\.')} reaches past the public API`)),
    ])
  })

  it('leaves the framework and tests alone', async () => {
    expect(await lint('src/engine/new.ts', "import { sleep } from '../util/abort.ts'\nexport const x = sleep\n")).toEqual([])
    expect(await lint('plugins/probes/new-probe.test.ts', "import { sleep } from '../../src/util/abort.ts'\nexport const x = sleep\n")).toEqual([])
  })
})

describe('no-silent-catch', () => {
  it('fails a swallowed error without a reason, passes one with a comment', async () => {
    expect(await lint('src/engine/new.ts', 'export const f = (p: Promise<void>) => p.catch(() => {})\n')).toEqual([
      'gameday/no-silent-catch: this .catch() swallows the error: say on this line or the one above why nothing is lost',
    ])
    expect(await lint('src/engine/new.ts', '// closing: already closed is fine\nexport const f = (p: Promise<void>) => p.catch(() => {})\n')).toEqual([])
    expect(await lint('src/engine/new.ts', 'export const f = (p: Promise<void>) => p.catch((err) => console.error(err))\n')).toEqual([])
  })
})
