/** A NATS echo responder in its own process, so the load generator does not share its CPU. */
import { connect } from '@nats-io/transport-node'

const nc = await connect({ servers: process.argv[2] })
const sub = nc.subscribe('bench.echo')
console.log('ready')
for await (const m of sub) m.respond(m.data)
