/**
 * Gameday's own lint rules (eslint.config.js turns them on).
 *
 * - plugins-use-public-api: a built-in probe or fault (plugins/) imports nothing of Gameday but
 *   its public API, src/api/index.ts — the same door a user's extension has — and never the
 *   reference target or its generated code: a probe judges a system from outside.
 * - no-silent-catch: `.catch(() => {})` (or one that only returns a constant) swallows an error;
 *   it needs a comment on that line or the line above saying why nothing is lost.
 */
import { dirname, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const PLUGINS = resolve(ROOT, 'plugins') + sep
const PUBLIC_API = resolve(ROOT, 'src', 'api', 'index.ts')

/** @type {import('eslint').Rule.RuleModule} */
const pluginsUsePublicApi = {
  meta: {
    type: 'problem',
    docs: { description: 'built-in plugins import only the public API (src/api/index.ts)' },
    messages: {
      pastApi:
        '{{spec}} reaches past the public API: a built-in imports Gameday only through src/api/index.ts (export what it needs from there), like a user extension',
    },
    schema: [],
  },
  create(context) {
    const file = resolve(context.filename)
    if (!file.startsWith(PLUGINS) || /\.test\.ts$/.test(file)) return {}
    const check = (node, spec) => {
      if (typeof spec !== 'string' || !spec.startsWith('.')) return // packages are fine
      const target = resolve(dirname(file), spec)
      if (target.startsWith(PLUGINS) || target === PUBLIC_API) return
      context.report({ node, messageId: 'pastApi', data: { spec: relative(ROOT, target) } })
    }
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
    }
  },
}

const isSilentHandler = (fn) => {
  if (!fn || (fn.type !== 'ArrowFunctionExpression' && fn.type !== 'FunctionExpression')) return false
  if (fn.params.length > 0) return false // it looks at the error
  const body = fn.body
  if (body.type === 'BlockStatement')
    return (
      body.body.length === 0 ||
      (body.body.length === 1 && body.body[0].type === 'ReturnStatement' && (!body.body[0].argument || body.body[0].argument.type === 'Literal'))
    )
  return body.type === 'Literal' || (body.type === 'Identifier' && body.name === 'undefined')
}

/** @type {import('eslint').Rule.RuleModule} */
const noSilentCatch = {
  meta: {
    type: 'suggestion',
    docs: { description: 'an error swallowed with .catch(() => {}) needs a comment saying why nothing is lost' },
    messages: { silent: 'this .catch() swallows the error: say on this line or the one above why nothing is lost' },
    schema: [],
  },
  create(context) {
    const source = context.sourceCode
    return {
      CallExpression(node) {
        const callee = node.callee
        if (callee.type !== 'MemberExpression' || callee.property.type !== 'Identifier' || callee.property.name !== 'catch') return
        if (!isSilentHandler(node.arguments[0])) return
        const handler = node.arguments[0]
        const line = handler.loc.start.line
        const comments = source.getAllComments()
        // a comment on the line, on the line above, or inside the handler itself
        const commented = comments.some(
          (c) => c.loc.end.line === line || c.loc.end.line === line - 1 || (c.range[0] >= handler.range[0] && c.range[1] <= handler.range[1]),
        )
        // a comment anywhere in the statement that holds the call also counts (multi-line chains)
        let statement = node
        while (statement.parent && !/Statement|Declaration/.test(statement.parent.type)) statement = statement.parent
        const start = (statement.parent ?? statement).loc.start.line
        const inStatement = comments.some((c) => c.loc.end.line >= start - 1 && c.loc.start.line <= line)
        if (!commented && !inStatement) context.report({ node: handler, messageId: 'silent' })
      },
    }
  },
}

export default { rules: { 'plugins-use-public-api': pluginsUsePublicApi, 'no-silent-catch': noSilentCatch } }
