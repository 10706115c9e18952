/** `--env aws`: see environment.ts, and docs/aws-gameday.md for the SRE guide. */
export { AwsEnvironment, loadAwsEnvironment, type AwsEnvironmentOptions, type Discovery } from './environment.ts'
export { AwsConfigSchema, loadAwsConfig, parseAwsConfig, type AwsConfig } from './config.ts'
export { createClients, isReadOnlyCommand, type AwsClients } from './clients.ts'
export { FisRunner, TAG_FAULT, TAG_RUN_ID } from './fis.ts'
