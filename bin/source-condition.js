// Module hook used when Gameday runs from its TypeScript sources: resolves the package's own
// exports (`gameday`, `gameday/vitest`) under the `gameday-source` condition, i.e. to src/.
export async function resolve(specifier, context, nextResolve) {
  return nextResolve(specifier, { ...context, conditions: [...context.conditions, 'gameday-source'] })
}
