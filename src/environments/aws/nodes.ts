/**
 * The nodes part on AWS: NATS servers are EC2 instances found by their node tag.
 *
 *   kill   StopInstances Force=true (killMode stop) or TerminateInstances (killMode terminate)
 *   stop   StopInstances
 *   start  StartInstances, waiting until running (terminate: waits for the auto-scaling replacement)
 *
 * Every action looks the instance up live (never trusting a journaled state), so a start after
 * a crash finds the instance whatever it became, and does nothing to one already running. A
 * NATS server cannot be frozen or put into lame duck mode through EC2: `describe` refuses those,
 * so plan refuses them before anything runs.
 */
import { DescribeInstancesCommand, StartInstancesCommand, StopInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2'
import type { Logger, NodeAction, NodeControl, NodeInfo } from '../../api/environment.ts'
import { TargetError, UnsupportedError } from '../../api/errors.ts'
import type { AwsClients } from './clients.ts'
import type { AwsConfig } from './config.ts'
import type { AwsDiscovery, InstanceInfo } from './discovery.ts'
import type { AwsGuard } from './guardrails.ts'
import { pollUntil } from './poll.ts'

const UNSUPPORTED: Partial<Record<NodeAction, string>> = {
  pause: 'AWS cannot freeze a NATS server: EC2 has no pause (nats.pause-node runs on local and containers; on AWS use nats.stop-node or nats.kill-node)',
  resume: 'AWS cannot thaw a NATS server: EC2 has no pause',
  lameDuck:
    'AWS cannot put a NATS server into lame duck mode: that needs a signal on the instance (SSM), which gameday does not send (nats.lame-duck runs on local and containers)',
}

export class AwsNodes implements NodeControl {
  constructor(
    private readonly config: AwsConfig,
    private readonly clients: Pick<AwsClients, 'ec2'>,
    private readonly guard: AwsGuard,
    private readonly discovery: AwsDiscovery,
    private readonly log: () => Logger,
  ) {}

  /** The exact EC2 calls, for plan; what EC2 cannot do is refused here. */
  describe(action: NodeAction, node: NodeInfo): string[] {
    const unsupported = UNSUPPORTED[action]
    if (unsupported) throw new UnsupportedError(unsupported)
    const inst = this.discovery.peek()?.instances.find((i) => i.cluster === node.cluster && i.node === node.name && i.state !== 'terminated')
    const id = inst?.instanceId ?? `<instance of ${node.cluster}/${node.name}>`
    const mode = this.config.nats[node.cluster]?.killMode ?? 'stop'
    if (action === 'kill' && mode === 'terminate')
      return [`ec2:TerminateInstances InstanceIds=[${id}] (irreversible; revert waits for the auto-scaling replacement)`]
    if (action === 'kill') return [`ec2:StopInstances InstanceIds=[${id}] Force=true`, `ec2:StartInstances InstanceIds=[${id}] (on revert)`]
    if (action === 'stop') return [`ec2:StopInstances InstanceIds=[${id}]`, `ec2:StartInstances InstanceIds=[${id}] (on revert)`]
    return [`ec2:StartInstances InstanceIds=[${id}]`]
  }

  async kill(node: NodeInfo): Promise<void> {
    const inst = await this.current(node)
    if (this.config.nats[node.cluster].killMode === 'terminate') {
      await this.clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: [inst.instanceId] }))
      await this.waitState(inst, ['shutting-down', 'terminated'], this.config.timeouts.instance)
      return
    }
    if (inst.state === 'stopped') return
    await this.clients.ec2.send(new StopInstancesCommand({ InstanceIds: [inst.instanceId], Force: true }))
    await this.waitState(inst, ['stopped'], this.config.timeouts.instance)
  }

  async stop(node: NodeInfo): Promise<void> {
    const inst = await this.current(node)
    if (inst.state === 'stopped') return
    await this.clients.ec2.send(new StopInstancesCommand({ InstanceIds: [inst.instanceId] }))
    await this.waitState(inst, ['stopped'], this.config.timeouts.instance)
  }

  /** Idempotent: a running instance is left alone, a stopping one is awaited and started, a terminated one awaited. */
  async start(node: NodeInfo): Promise<void> {
    const found = await this.instancesOf(node)
    const what = `${node.cluster}/${node.name}`
    const live = found.find((i) => i.state === 'running' || i.state === 'pending')
    if (live) {
      if (live.state === 'running') this.log().info(`ec2: ${what} (${live.instanceId}) is running: nothing to start`)
      await this.waitState(live, ['running'], this.config.timeouts.instance)
      return
    }
    const stopped = found.find((i) => i.state === 'stopped' || i.state === 'stopping')
    if (stopped) {
      if (stopped.state === 'stopping') await this.waitState(stopped, ['stopped'], this.config.timeouts.instance)
      const started = Date.now()
      await this.clients.ec2.send(new StartInstancesCommand({ InstanceIds: [stopped.instanceId] }))
      await this.waitState(stopped, ['running'], this.config.timeouts.instance)
      this.log().info(`ec2: ${what} (${stopped.instanceId}) was stopped: StartInstances, running after ${Date.now() - started}ms`)
      return
    }
    // terminated (killMode: terminate): the auto-scaling group brings a replacement with the same tags
    const replacement = await pollUntil(this.config, async () => (await this.instancesOf(node, ['running'])).at(0), {
      timeoutMs: this.config.timeouts.replacement,
      timeoutMessage: (ms) => `no replacement instance for ${what} after ${ms}ms`,
    })
    this.discovery.updateInstance(replacement, { cluster: node.cluster, node: node.name })
    this.log().info(`ec2: ${what} was terminated: its replacement ${replacement.instanceId} is running`)
  }

  async isRunning(node: NodeInfo): Promise<boolean> {
    return (await this.instancesOf(node, ['running'])).length > 0
  }

  private async instancesOf(node: NodeInfo, states?: string[]): Promise<InstanceInfo[]> {
    await this.guard.check()
    return this.discovery.instances(node.cluster, node.name, states)
  }

  private async current(node: NodeInfo): Promise<InstanceInfo> {
    const found = await this.instancesOf(node)
    if (!found.length) throw new TargetError(`no live EC2 instance for NATS node ${node.cluster}/${node.name}`)
    return found.find((i) => i.state === 'running') ?? found.find((i) => i.state === 'pending') ?? found[0]
  }

  /** Polls DescribeInstances by id until the instance is in one of `states`. */
  private async waitState(inst: InstanceInfo, states: string[], timeoutMs: number): Promise<void> {
    let state = inst.state
    await pollUntil(
      this.config,
      async () => {
        const res = await this.clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [inst.instanceId] }))
        state = res.Reservations?.[0]?.Instances?.[0]?.State?.Name ?? 'unknown'
        return states.includes(state) ? state : undefined
      },
      { timeoutMs, timeoutMessage: (ms) => `EC2 instance ${inst.instanceId} still ${state} after ${ms}ms (waiting for ${states.join('|')})` },
    )
    this.discovery.updateInstance({ ...inst, state })
  }
}
