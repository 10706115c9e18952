// Entry point of the aws environment, used by src/environments/load.ts.
export { loadAwsEnvironment } from './environment.ts'
