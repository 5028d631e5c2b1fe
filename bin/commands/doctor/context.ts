// What every doctor check group gets: the deployment's outputs, its region and mail
// domains, and the admin's options. Credentials and endpoints come from the usual SDK
// sources, as for every `--stack` command.
import { type DeployedOutput, type DeployedOutputs, STACK_OUTPUTS } from '../deployed-target.ts';
import { type Check, type CheckGroup, fail } from './check.ts';

export interface DoctorOptions {
  /** RCPT TO of the smart-host probe; default postmaster@<first domain>. */
  mailbox: string | undefined;
  /** A resolver to ask instead of the system's (`IP` or `IP:port`). */
  dnsServer: string | undefined;
}

export interface DoctorContext {
  stackId: string;
  region: string;
  outputs: DeployedOutputs;
  /** The MailDomains output; empty when the stack predates it (its own failing check says so). */
  domains: string[];
  options: DoctorOptions;
  now: Date;
}

/** A check that cannot run because the stack lacks an output (deployed by an older version). */
export function missingOutput(group: CheckGroup, name: string, output: DeployedOutput): Check {
  const { stack, key } = STACK_OUTPUTS[output];
  return fail(group, name, `the ${stack} stack has no output ${key}`, 'deploy the current version of shadowmail (npx cdk deploy --all)');
}

/** The domains of the MailDomains output, lower-cased. */
export function mailDomains(outputs: DeployedOutputs): string[] {
  return (outputs.get('mailDomains') ?? '')
    .split(',')
    .map((domain) => domain.trim().toLowerCase())
    .filter(Boolean);
}
