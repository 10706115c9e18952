/** A process that starts a test environment (and may be killed half-way, by the cleanup test). */
import { quiet, testEnvironment } from './support.ts'

const envId = process.argv[2]
if (!envId) throw new Error('usage: up-child.ts <env id>')
await testEnvironment(envId).up(quiet)
console.log('up')
