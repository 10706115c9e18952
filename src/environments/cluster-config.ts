/**
 * The NATS clusters of a local or containers environment file, and the checks their shape
 * cannot express: at least one cluster, node names unique across all of them (a node is
 * addressed by its name alone), accounts only with TLS (a user is its certificate).
 */
import { z } from 'zod'

const Name = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and -')

export const NodeSchema = z.strictObject({ name: Name, az: z.string().min(1) })

export const ClusterSchema = z.strictObject({
  nodes: z.array(NodeSchema).min(1, 'a cluster needs at least one node: nodes: [{ name: n1, az: az-a }]'),
  maxMemoryStore: z.string().default('256MB'),
  maxFileStore: z.string().default('2GB'),
  tls: z
    .boolean()
    .default(false)
    .describe("TLS on the client and route ports with certificates from the environment's private CA, made at env up; clients must present one (verify)"),
  accounts: z
    .boolean()
    .default(false)
    .describe(
      "an account per service (the user its client certificate names), exporting its endpoints and importing what it `calls:`; gameday's own account imports everything; needs tls",
    ),
})

export const ClustersSchema = z.record(Name, ClusterSchema)

export function checkClusters(clusters: z.infer<typeof ClustersSchema>, ctx: z.RefinementCtx): void {
  for (const [cluster, c] of Object.entries(clusters))
    if (c.accounts && !c.tls)
      ctx.addIssue({
        code: 'custom',
        path: ['clusters', cluster, 'accounts'],
        message: 'accounts: true maps each client certificate to its user: add tls: true to this cluster',
      })
  if (!Object.keys(clusters).length) {
    ctx.addIssue({ code: 'custom', path: ['clusters'], message: 'no cluster: add one, e.g. clusters: { core: { nodes: [{ name: n1, az: az-a }] } }' })
  }
  const seen = new Map<string, string>()
  for (const [cluster, c] of Object.entries(clusters)) {
    c.nodes.forEach((n, i) => {
      const first = seen.get(n.name)
      if (first)
        ctx.addIssue({
          code: 'custom',
          path: ['clusters', cluster, 'nodes', i, 'name'],
          message: `node name ${n.name} is already used (${first}): node names must be unique across the file; rename one`,
        })
      else seen.set(n.name, `cluster ${cluster}, node ${i + 1}`)
    })
  }
}
