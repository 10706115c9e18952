/**
 * Every command, in the order `gameday --help` lists them. A new command is a module in this
 * folder exporting `define` (see ../command.ts) and one line here; nothing is imported until its
 * command runs.
 */
import type { CommandEntry } from '../command.ts'

export const COMMANDS: CommandEntry[] = [
  { name: 'init', summary: 'write a starting environment and experiment for your system', load: () => import('./init.ts') },
  { name: 'validate', summary: 'check experiments without running them (file:line:col)', load: () => import('./validate.ts') },
  { name: 'plan', summary: 'print the targets and every action, touching nothing', load: () => import('./plan.ts') },
  { name: 'run', summary: 'run an experiment; reports in reports/<run-id>/', load: () => import('./run.ts') },
  { name: 'env', summary: 'bring an environment up, show its status, take it down', load: () => import('./env.ts') },
  { name: 'report', summary: 'regenerate a run’s reports from its journal; --index: a page of every run', load: () => import('./report.ts') },
  { name: 'compare', summary: 'two runs of one experiment side by side (exit 1: a new deviation)', load: () => import('./compare.ts') },
  { name: 'recover', summary: 'revert what a crashed or killed run left behind', load: () => import('./recover.ts') },
  { name: 'check', summary: 'check a recorded history (linearizability, durability)', load: () => import('./check.ts') },
  { name: 'list', summary: 'the probe and fault types available', load: () => import('./list.ts') },
  { name: 'proxy', summary: 'run the Toxiproxy-compatible fault proxy standalone', load: () => import('./proxy.ts') },
]
