/** `gameday proxy`: the Toxiproxy-compatible fault proxy, standalone. */
import type { Command } from 'commander'
import { runProxyCommand } from '../../proxy/index.ts'
import { onRun } from '../command.ts'
import { parseSeed } from '../options.ts'

export function define(cmd: Command): void {
  cmd
    .option('--listen <host:port>', 'admin API address', '127.0.0.1:8474')
    .option('--allow-remote', 'allow a non-loopback admin address')
    .option('--seed <n>', 'seed for toxicity rolls, jitter and slicing', parseSeed)
  onRun(cmd, async (opts: { listen: string; allowRemote?: boolean; seed?: number }) => {
    await runProxyCommand(opts)
  })
}
