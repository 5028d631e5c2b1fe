// `shadowmail directory …`: fills the address map and the directory users from Active
// Directory (sync) or a CSV file (import), and lists what is there (list). Runs where
// AD is — a host on the company network, as a scheduled task — against local mode's
// data directory or a deployed stack's table (--table, AWS credentials from the
// environment). Every source is read completely before anything is written, so a
// failed bind, an unreachable server or a bad CSV row leaves the map as it was.
import { readdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CognitoBreakGlassAccounts } from '../../lambdas/adapters/aws/cognito-break-glass-accounts.ts';
import { DynamoDbAuditLog } from '../../lambdas/adapters/aws/dynamodb-audit-log.ts';
import { DynamoDbDirectoryStore } from '../../lambdas/adapters/aws/dynamodb-directory-store.ts';
import { readBindPasswordSecret, secretsClientFor } from '../../lambdas/adapters/aws/secrets-bind-credentials.ts';
import {
  type AdminStrategy,
  DEFAULT_MOBILE_ATTRIBUTE,
  DEFAULT_OPERATION_TIMEOUT_MS,
  LdapDirectorySource,
} from '../../lambdas/adapters/ldap/ldap-directory-source.ts';
import { CsvDirectorySource } from '../../lambdas/adapters/local/csv-directory-source.ts';
import { DEFAULT_PHONE_COUNTRY, phoneCountry } from '../../lambdas/adapters/phone/mobile-numbers.ts';
import { isMailAddress } from '../../lambdas/core/addresses.ts';
import { recordAudit } from '../../lambdas/core/audit.ts';
import {
  type AccountChange,
  type AccountPlan,
  type AccountSyncReport,
  applyBreakGlassPlan,
  planBreakGlassSync,
} from '../../lambdas/core/break-glass-accounts.ts';
import { DEFAULT_SYNC_LEASE_MS, type SyncPlan, type SyncReport, syncDirectory } from '../../lambdas/core/directory.ts';
import { InvalidInputError, ShadowmailError } from '../../lambdas/core/errors.ts';
import type { DirectoryUser } from '../../lambdas/core/model.ts';
import type { AuditLog } from '../../lambdas/ports/audit-log.ts';
import type { BreakGlassAccounts } from '../../lambdas/ports/break-glass-accounts.ts';
import { systemClock } from '../../lambdas/ports/clock.ts';
import type { DirectorySource, DirectoryStore } from '../../lambdas/ports/directory.ts';
import { readLocalConfig } from '../../lambdas/wiring/local-config.ts';
import { localPaths, ownerOnlyFiles, prepareDataDir } from '../../lambdas/wiring/local-data-dir.ts';
import { closeDurably, openLocalStore, refuseLegacyStore } from '../../lambdas/wiring/local-store.ts';
import { deployedActor, osActor } from './aws-caller.ts';
import { cliAwsConfig } from './aws-clients.ts';
import { command, EXIT, exitStatusHelp, UsageError } from './command.ts';
import {
  RECEIPT_RULE_OPTIONS,
  type ReceiptRuleValues,
  receiptRulesAudit,
  receiptRuleTarget,
  syncReceiptRulesFor,
  writeReceiptRules,
} from './directory-receipt-rules.ts';
import { readPasswordFile } from './password-file.ts';

const DEFAULT_TIMEOUT_SECONDS = DEFAULT_OPERATION_TIMEOUT_MS / 1000;

export const DIRECTORY_USAGE = `usage:
  shadowmail directory sync --url ldap[s]://HOST[:PORT] --bind-dn DN
        (--bind-password-file FILE | --bind-password-secret SECRET_ARN) --base-dn DN
        [--filter FILTER] [--admin-group DN] [--admin-strategy auto|in-chain|walk]
        [--ca-file PEM] [--starttls | --insecure] [--tls-servername NAME]
        [--mobile-attribute NAME] [--private-email-attribute NAME] [--default-country CC]
        [--timeout SECONDS] [--domains LIST] [--max-removals N] [--dry-run] [RULES] [TARGET]
  shadowmail directory import FILE.csv [--default-country CC] [--domains LIST] [--max-removals N] [--dry-run] [RULES] [TARGET]
  shadowmail directory list [--json] [TARGET]

  TARGET: --data-dir DIR (local mode; default SHADOWMAIL_DATA_DIR or ./.shadowmail; sync and
          import make a new or empty folder a data directory, no npm start needed first)
          or --table NAME --region REGION [--endpoint URL] [--user-pool-id ID] (a deployed
          stack; AWS credentials from the environment; --endpoint only for DynamoDB-compatible
          servers; --user-pool-id, the stack output UserPoolId, also syncs the break-glass accounts)
  RULES:  --receipt-rule-set NAME [--catch-all-domains LIST] [--subaddress-separator C]
          (with --table and --domains) also keeps the stack's SES receipt rules per address

  sync reads every user with a mail address from AD (paged), import reads a CSV with
  the header mailbox,displayName,aliases,kind,disabled,admin and optional mobile and
  private_email columns (aliases separated by ;). Both replace the directory: users
  missing from the source are removed (at most --max-removals per run; default 10 or
  a fifth of the directory). Every run prints all its changes; --dry-run writes nothing.

  --timeout bounds each step against the server: connecting, binding, each page of the
  search (default SHADOWMAIL_DIRECTORY_TIMEOUT or ${DEFAULT_TIMEOUT_SECONDS} s). A server that takes
  the connection and never answers fails the run after that long, nothing changed.

  --domains (default SHADOWMAIL_DOMAINS) lists the mail domains, comma-separated (the stack
  output MailDomains): addresses elsewhere are left out with a warning, and a user whose
  primary address is elsewhere gets one at these domains as mailbox (or is skipped).

  One address claimed by two accounts (the same mail, or an alias that is another's
  primary) does not stop the run: the address stays with the account that had it before
  (or goes to none), a new account whose primary it is is not added, everything else is
  synced, and each clash is listed naming both accounts (DNs); exit ${EXIT.clashes}. import
  refuses a CSV file with a clash instead, naming both lines (it is typed by hand).
  A junk value (mail: john.doe) is left out with a warning naming the user.

  Shared, room and equipment mailboxes: msExchRecipientTypeDetails 4, 16 and 32 are read
  as shared mailboxes (the CSV's kind "shared"): their mail is kept, nobody signs in as
  them. A disabled account (userAccountControl bit 2; the CSV's disabled) never signs in
  and is never an admin, whatever its groups.

  --receipt-rule-set (the stack output ReceiptRuleSetName) keeps the rules <stackId>-dir-NNN in
  that SES receipt rule set listing every address of the directory, at most 100 a rule, so SES
  refuses other recipients once the stack's inbound.recipientCheck is on (docs/deploy.md 8.6).
  Domains SES takes whole are named with the reason: --catch-all-domains (default
  SHADOWMAIL_CATCH_ALL_DOMAINS; the stack's inbound.catchAllDomains), a --subaddress-separator
  other than + (default SHADOWMAIL_SUBADDRESS_SEPARATOR or +; the stack's subaddressSeparator),
  and domains beyond SES's rule limit. Only changed rules are written, one a second.

  A plain ldap:// URL needs --starttls: the bind password and the directory would
  cross the network in clear text. --insecure allows it (a test server, a host next
  to the domain controller); ldaps:// is encrypted already.

  Mobile numbers (--mobile-attribute, default ${DEFAULT_MOBILE_ATTRIBUTE}; the CSV's mobile column) are
  read into E.164, numbers without a country code as of --default-country (default
  ${DEFAULT_PHONE_COUNTRY}); a landline or an unreadable value is left out with a warning naming the
  user. A private address (--private-email-attribute; the CSV's private_email) at one of
  the directory's mail domains is left out too. With --user-pool-id, every enabled user
  with a mobile number gets a break-glass account in the user pool (sign-in by SMS code
  while failover is on; no invitation is sent), disabled users' accounts are disabled,
  and the accounts of users gone or without a number deleted (--max-removals bounds
  these deletions as well).
${exitStatusHelp({
  badInput: 'bad input or a source that cannot be read, nothing changed (the line says what is wrong)',
  failed: 'the sync is done but its audit entry could not be written, or an unexpected error',
  partial:
    'the directory was synced, but the user pool refused some account changes, SES refused a receipt rule write, or a domain is beyond the rule limit (listed)',
  clashes: 'the directory was synced, but addresses clash (listed; each stays with its previous owner or none)',
})}`;

interface Target {
  store: DirectoryStore;
  audit: AuditLog;
  description: string;
  /** The break-glass accounts to keep in step, or why there are none (local mode, no --user-pool-id). */
  accounts: BreakGlassAccounts | { none: string };
  /** The region of a table in AWS (--table without --endpoint): its audit entry names the AWS caller. */
  awsRegion?: string;
  /** The region of --table (with or without --endpoint): where the receipt rules are. */
  region?: string;
  close(): Promise<void>;
}

export const directoryCommand = command('directory', DIRECTORY_USAGE, async ([sub, ...rest], out, err) => {
  if (sub === 'sync') return sync(rest, out, err);
  if (sub === 'import') return importCsv(rest, out, err);
  if (sub === 'list') return list(rest, out);
  throw new UsageError(sub === undefined ? 'give one of sync, import, list' : `unknown directory command ${JSON.stringify(sub)}`);
});

const TARGET_OPTIONS = {
  'data-dir': { type: 'string' },
  table: { type: 'string' },
  region: { type: 'string' },
  // For tests and DynamoDB-compatible servers; a deployed stack needs none.
  endpoint: { type: 'string' },
  'user-pool-id': { type: 'string' },
} as const;

const COUNTRY_OPTION = { 'default-country': { type: 'string', default: DEFAULT_PHONE_COUNTRY } } as const;

/** What sync and import share besides the target. */
const RUN_OPTIONS = {
  domains: { type: 'string' },
  'max-removals': { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  ...RECEIPT_RULE_OPTIONS,
} as const;

async function sync(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      'bind-dn': { type: 'string' },
      'bind-password-file': { type: 'string' },
      'bind-password-secret': { type: 'string' },
      'base-dn': { type: 'string' },
      filter: { type: 'string' },
      'admin-group': { type: 'string' },
      'admin-strategy': { type: 'string', default: 'auto' },
      'ca-file': { type: 'string' },
      starttls: { type: 'boolean', default: false },
      insecure: { type: 'boolean', default: false },
      'tls-servername': { type: 'string' },
      'mobile-attribute': { type: 'string', default: DEFAULT_MOBILE_ATTRIBUTE },
      'private-email-attribute': { type: 'string' },
      timeout: { type: 'string' },
      ...RUN_OPTIONS,
      ...COUNTRY_OPTION,
      ...TARGET_OPTIONS,
    },
    strict: true,
    allowPositionals: false,
  });
  const timeoutMs = timeoutSeconds(values.timeout) * 1000;
  const url = required(values.url, '--url');
  const bindDn = required(values['bind-dn'], '--bind-dn');
  const baseDn = required(values['base-dn'], '--base-dn');
  const passwordFile = values['bind-password-file'];
  const passwordSecret = values['bind-password-secret'];
  if ((passwordFile === undefined) === (passwordSecret === undefined)) {
    throw new UsageError('give exactly one of --bind-password-file and --bind-password-secret');
  }
  const strategy = values['admin-strategy'];
  if (strategy !== 'auto' && strategy !== 'in-chain' && strategy !== 'walk') {
    throw new UsageError('--admin-strategy must be auto, in-chain or walk');
  }
  refuseCleartext(url, values.starttls === true, values.insecure === true);
  const ca = values['ca-file'] === undefined ? undefined : await readFile(values['ca-file'], 'utf8');
  const bindPassword =
    passwordFile !== undefined
      ? () => readPasswordFile(passwordFile, 'the bind password file', err)
      : () => readBindPasswordSecret(secretsClientFor(passwordSecret!), passwordSecret!);
  const source = new LdapDirectorySource({
    url,
    bindDn,
    bindPassword,
    baseDn,
    adminStrategy: strategy as AdminStrategy,
    startTls: values.starttls === true,
    connectTimeoutMs: timeoutMs,
    operationTimeoutMs: timeoutMs,
    ...(values.filter !== undefined && { filter: values.filter }),
    ...(values['admin-group'] !== undefined && { adminGroupDn: values['admin-group'] }),
    ...(ca !== undefined && { ca }),
    ...(values['tls-servername'] !== undefined && { tlsServername: values['tls-servername'] }),
    mobileAttribute: values['mobile-attribute'],
    defaultCountry: countryOption(values['default-country']),
    ...(values['private-email-attribute'] !== undefined && { privateEmailAttribute: values['private-email-attribute'] }),
  });
  return runSync(source, values, out, err);
}

async function importCsv(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...RUN_OPTIONS,
      ...COUNTRY_OPTION,
      ...TARGET_OPTIONS,
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError('import takes exactly one CSV file');
  const source = new CsvDirectorySource(positionals[0]!, { defaultCountry: countryOption(values['default-country']) });
  return runSync(source, values, out, err);
}

async function list(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, ...TARGET_OPTIONS },
    strict: true,
  });
  const target = await openTarget(values, { create: false });
  if (target === null) {
    out.write(
      values.json ? '[]\n' : `the directory in local data directory ${localDataDir(values)} is empty (nothing imported or synced yet)\n`,
    );
    return EXIT.ok;
  }
  try {
    const { users } = await target.store.readState();
    if (values.json) {
      out.write(`${JSON.stringify(users, null, 2)}\n`);
      return EXIT.ok;
    }
    if (users.length === 0) out.write(`the directory in ${target.description} is empty\n`);
    for (const user of users) out.write(`${describeUser(user)}\n`);
    if (users.length > 0) out.write(`${users.length} user${users.length === 1 ? '' : 's'}\n`);
    return EXIT.ok;
  } finally {
    await target.close();
  }
}

type TargetValues = { 'data-dir'?: string; table?: string; region?: string; endpoint?: string; 'user-pool-id'?: string };

function countryOption(value: string): string {
  try {
    return phoneCountry(value);
  } catch (error) {
    if (error instanceof InvalidInputError) throw new UsageError(`--default-country: ${error.message}`);
    throw error;
  }
}

/** What the sync did, for the audit entry: counts only, never names or numbers. */
function auditDetails(report: SyncReport, accounts: AccountSyncReport | null): Record<string, number> {
  const { users } = report.plan;
  return {
    usersAdded: users.added.length,
    usersChanged: users.changed.length,
    usersRemoved: users.removed.length,
    usersWithMobile: report.mobiles.withMobile,
    usersWithoutMobile: report.mobiles.withoutMobile.length,
    addressClashes: report.clashes.length,
    usersNotAdded: report.notAdded.length,
    ...(accounts && {
      accountsCreated: accounts.counts.create,
      accountsUpdated: accounts.counts.update + accounts.counts.confirm,
      accountsEnabled: accounts.counts.enable,
      accountsDisabled: accounts.counts.disable,
      accountsDeleted: accounts.counts.delete,
      accountsFailed: accounts.failures.length,
    }),
  };
}

/** Plain ldap:// without StartTLS only when asked for by name: it sends the bind password in clear. */
function refuseCleartext(url: string, startTls: boolean, insecure: boolean): void {
  const plain = /^ldap:\/\//i.test(url) && !startTls;
  if (plain && !insecure) {
    throw new UsageError(
      `${url} without --starttls sends the bind password and the directory in clear text: ` +
        'add --starttls (and --ca-file), use ldaps://, or give --insecure on a network you trust',
    );
  }
  if (!plain && insecure) throw new UsageError('--insecure is only for plain ldap:// without --starttls');
}

async function runSync(
  source: DirectorySource,
  values: TargetValues & ReceiptRuleValues & { domains?: string; 'max-removals'?: string; 'dry-run'?: boolean },
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const maxRemovals = values['max-removals'] === undefined ? undefined : parseCount(values['max-removals'], '--max-removals');
  const domains = mailDomains(values.domains);
  const receiptRules = receiptRuleTarget(values, domains, parseDomainList);
  const dryRun = values['dry-run'] === true;
  const started = performance.now();
  const target = await openTarget(values);
  try {
    const pool = 'none' in target.accounts ? null : target.accounts;
    const run = async () => {
      // The accounts are planned (and their deletions bounded) before the store is written,
      // and changed after it: a user removed there can no longer sign in, whatever the pool still holds.
      let accountPlan: AccountPlan | null = null;
      const report = await syncDirectory(source, target.store, {
        dryRun,
        owner: `${hostname()}:${process.pid}`,
        now: () => new Date(),
        leaseMs: DEFAULT_SYNC_LEASE_MS,
        ...(maxRemovals !== undefined && { maxRemovals }),
        ...(domains !== null && { domains }),
        ...(pool && {
          beforeWrite: async (incoming: readonly DirectoryUser[]) => {
            accountPlan = await planBreakGlassSync(incoming, pool, maxRemovals !== undefined ? { maxRemovals } : {});
          },
        }),
      });
      const accounts = pool && accountPlan ? await applyBreakGlassPlan(accountPlan, pool, { dryRun }) : null;
      return { report, accounts };
    };
    // Audited like an admin's action, with counts only; a dry run changes nothing and is not recorded.
    // The scheduled sync never waits for STS: unconfirmed, it is recorded as the OS user (aws-caller.ts).
    const actor = !dryRun && target.awsRegion !== undefined ? await deployedActor(target.awsRegion, { warn: err }) : osActor();
    const context = { actor, action: 'directory.sync' as const, target: source.description };
    let result: Awaited<ReturnType<typeof run>>;
    try {
      result = await run();
    } catch (error) {
      const why = error instanceof ShadowmailError ? `${error.code}: ${error.message}` : 'internal error';
      if (!dryRun) await recordAudit(target.audit, systemClock, { ...context, details: { error: why } }, 'error').catch(() => undefined);
      throw error;
    }
    const { report, accounts } = result;
    // Rules from the directory as stored, what ingest knows (a dry run: as the run would have stored it).
    const rules =
      receiptRules === null
        ? null
        : await syncReceiptRulesFor(receiptRules, {
            users: usersAfter((await target.store.readState()).users, report),
            domains: domains!,
            region: target.region!,
            dryRun,
          });
    let auditProblem: string | null = null;
    if (!dryRun) {
      const details = { ...auditDetails(report, accounts), ...receiptRulesAudit(rules) };
      await recordAudit(target.audit, systemClock, { ...context, details }).catch((error: unknown) => {
        auditProblem = ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message;
      });
    }
    for (const warning of report.warnings.slice(0, 50)) err.write(`skipped ${warning}\n`);
    if (report.warnings.length > 50) err.write(`skipped ${report.warnings.length - 50} more entries\n`);
    for (const warning of report.valueWarnings.slice(0, 50)) err.write(`warning ${warning}\n`);
    if (report.valueWarnings.length > 50) err.write(`warning: ${report.valueWarnings.length - 50} more values left out\n`);
    for (const line of clashLines(report)) err.write(`${line}\n`);
    // The whole diff, on a real run as on a dry run: sync.log is the record of what changed.
    out.write(formatPlan(report.plan));
    if (accounts) out.write(formatAccountPlan(accounts.plan.changes));
    for (const warning of accounts?.plan.warnings ?? []) err.write(`warning ${warning}\n`);
    for (const failure of accounts?.failures ?? []) err.write(`failed: ${failure.action} account ${failure.username}: ${failure.reason}\n`);
    out.write(`${summary(source, target, report, (performance.now() - started) / 1000)}\n`);
    out.write(`${domainSummary(domains, report)}\n`);
    out.write(`${mobileSummary(report)}\n`);
    out.write(`${accountSummary(target, accounts)}\n`);
    const rulesComplete = rules === null || writeReceiptRules(rules, `rule set ${receiptRules!.ruleSetName} (${target.region})`, out, err);
    if (auditProblem !== null) {
      err.write(`shadowmail directory: the sync is done, but its audit entry could not be written (${auditProblem})\n`);
      return EXIT.failed;
    }
    // A clash needs someone to fix AD; a refused account change is retried by the next run.
    if (report.clashes.length > 0 || report.notAdded.length > 0) return EXIT.clashes;
    return (accounts && accounts.failures.length > 0) || !rulesComplete ? EXIT.partial : EXIT.ok;
  } finally {
    await target.close();
  }
}

/** The users the store holds after the run: as read, or on a dry run with the plan applied. */
function usersAfter(stored: readonly DirectoryUser[], report: SyncReport): DirectoryUser[] {
  if (!report.dryRun) return [...stored];
  const { added, changed, removed } = report.plan.users;
  const gone = new Set([...removed, ...changed.map((change) => change.before)].map((user) => user.id));
  return [...stored.filter((user) => !gone.has(user.id)), ...changed.map((change) => change.after), ...added];
}

const ACCOUNT_MARKS: Record<AccountChange['action'], string> = {
  create: '+ account',
  confirm: '~ account',
  update: '~ account',
  enable: '~ account',
  disable: '~ account',
  delete: '- account',
};

/** The account changes by name; what changed, never the number itself. */
export function formatAccountPlan(changes: readonly AccountChange[]): string {
  const lines = changes.map((change) => {
    const what =
      change.action === 'update'
        ? `${change.fields.join(', ')} updated`
        : change.action === 'delete'
          ? `deleted (${{ gone: 'not in the directory', 'no-mobile': 'no mobile number', shared: 'shared mailbox', renamed: 'address changed', duplicate: 'second account of the user' }[change.why]})`
          : change.action === 'confirm'
            ? 'confirmed (an earlier run stopped halfway)'
            : `${change.action}d`;
    return `${ACCOUNT_MARKS[change.action]} ${change.username}  ${what}`;
  });
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** How many who may sign in can get a code, and who cannot (names only; at most 50 shown). */
function mobileSummary(report: SyncReport): string {
  const { canSignIn, withMobile, withoutMobile } = report.mobiles;
  const shown = withoutMobile.slice(0, 50).join(', ');
  const more = withoutMobile.length > 50 ? ` and ${withoutMobile.length - 50} more` : '';
  return `  mobile numbers: ${withMobile} of ${canSignIn} users who may sign in${withoutMobile.length > 0 ? `; without: ${shown}${more}` : ''}`;
}

function accountSummary(target: Target, accounts: AccountSyncReport | null): string {
  if (accounts === null) return `  break-glass accounts: ${(target.accounts as { none: string }).none}`;
  const { counts, plan, failures } = accounts;
  const where = (target.accounts as BreakGlassAccounts).description;
  return (
    `  break-glass accounts in ${where}: ${counts.create} created, ${counts.update + counts.confirm} updated, ` +
    `${counts.enable} enabled, ${counts.disable} disabled, ${counts.delete} deleted, ${plan.unchanged} unchanged` +
    (failures.length > 0 ? `, ${failures.length} failed` : '') +
    (plan.foreign > 0 ? ` (${plan.foreign} other accounts left alone)` : '') +
    (accounts.dryRun ? ' (dry run: nothing changed)' : '')
  );
}

/** The target of the values; null for a local data directory that holds nothing yet and `create` is off. */
async function openTarget(values: TargetValues, options: { create: false }): Promise<Target | null>;
async function openTarget(values: TargetValues, options?: { create: true }): Promise<Target>;
async function openTarget(values: TargetValues, options: { create: boolean } = { create: true }): Promise<Target | null> {
  if (values.table !== undefined) {
    if (values['data-dir'] !== undefined) throw new UsageError('give either --table or --data-dir, not both');
    const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (region === undefined) throw new UsageError('--table needs --region (or AWS_REGION)');
    const poolId = values['user-pool-id'];
    if (poolId !== undefined && !USER_POOL_ID.test(poolId)) {
      throw new UsageError(
        `--user-pool-id must be a user pool id such as eu-central-1_AbCdEf123 (stack output UserPoolId), not ${JSON.stringify(poolId)}`,
      );
    }
    const client = new DynamoDBClient({ ...cliAwsConfig(region), ...(values.endpoint !== undefined && { endpoint: values.endpoint }) });
    const cognito = poolId === undefined ? null : new CognitoIdentityProviderClient(cliAwsConfig(poolId.split('_')[0]!));
    return {
      store: new DynamoDbDirectoryStore({ client, tableName: values.table }),
      audit: new DynamoDbAuditLog({ client, tableName: values.table }),
      description: `table ${values.table} (${region})`,
      region,
      ...(values.endpoint === undefined && { awsRegion: region }),
      accounts: cognito
        ? new CognitoBreakGlassAccounts(cognito, poolId!, poolId!.split('_')[0]!)
        : { none: 'not synced: give --user-pool-id (the stack output UserPoolId) to keep them in step' },
      close: async () => {
        client.destroy();
        cognito?.destroy();
      },
    };
  }
  if (values.region !== undefined || values.endpoint !== undefined) throw new UsageError('--region and --endpoint go with --table');
  if (values['user-pool-id'] !== undefined) throw new UsageError('--user-pool-id goes with --table (local mode has no user pool)');
  return openLocalTarget(localDataDir(values), options.create);
}

/** --data-dir, else SHADOWMAIL_DATA_DIR, else ./.shadowmail (as local mode reads it). */
function localDataDir(values: TargetValues): string {
  const env = values['data-dir'] !== undefined ? { ...process.env, SHADOWMAIL_DATA_DIR: values['data-dir'] } : process.env;
  return readLocalConfig(env).dataDir;
}

/** What a local data directory holds: shadowmail's data, nothing (or no folder yet), or other files. */
async function dataDirContents(dataDir: string): Promise<'shadowmail' | 'nothing' | 'other'> {
  let entries: string[];
  try {
    entries = await readdir(dataDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'nothing';
    throw new ShadowmailError('NO_DATA', `cannot read the data directory ${dataDir}: ${(error as Error).message}`);
  }
  if (entries.includes(basename(localPaths(dataDir).database))) return 'shadowmail';
  return entries.length === 0 ? 'nothing' : 'other';
}

/** `<region>_<id>`, as Cognito names a user pool; the region part names where its API is. */
const USER_POOL_ID = /^[a-z]{2}(-[a-z]+)+-\d+_[0-9A-Za-z]+$/;

/** Local mode signs staff in from the directory store itself (its provider reads it): no accounts to keep. */
const LOCAL_ACCOUNTS = { none: 'none in local mode (its sign-in reads the directory directly)' };

/**
 * Local mode's store file, opened here beside the running stack or not (WAL lets both
 * write). With `create`, a folder that is missing or empty is made a data directory first;
 * without, it answers null (nothing stored yet). An earlier version's data is refused.
 */
async function openLocalTarget(dataDir: string, create: boolean): Promise<Target | null> {
  const paths = localPaths(dataDir);
  await refuseLegacyStore(paths);
  const contents = await dataDirContents(dataDir);
  if (contents === 'other') {
    throw new ShadowmailError(
      'NO_DATA',
      `${dataDir} is not empty and holds no shadowmail data: give local mode's data directory, or an empty or new folder`,
    );
  }
  // A new or empty folder becomes a data directory as `npm start` makes one (owner-only, the
  // store); list only reads, so it creates nothing.
  if (contents !== 'shadowmail' && !create) return null;
  if (contents !== 'shadowmail') await prepareDataDir(paths);
  ownerOnlyFiles();
  const store = openLocalStore(paths.database);
  return {
    store: store.directory,
    audit: store.audit,
    description: `local data directory ${dataDir}`,
    accounts: LOCAL_ACCOUNTS,
    close: () => closeDurably(store),
  };
}

/** --domains, else SHADOWMAIL_DOMAINS (as local mode reads it), lower-cased; null: neither is given. */
function mailDomains(flag: string | undefined): string[] | null {
  const [text, name] = flag !== undefined ? [flag, '--domains'] : [process.env.SHADOWMAIL_DOMAINS, 'SHADOWMAIL_DOMAINS'];
  return text === undefined ? null : parseDomainList(text, name);
}

/** A comma list of mail domains, lower-cased; a usage error naming `name` otherwise. */
function parseDomainList(text: string, name: string): string[] {
  const domains = text
    .split(',')
    .map((domain) => domain.trim().toLowerCase())
    .filter((domain) => domain !== '');
  const bad = domains.find((domain) => !isMailAddress(`postmaster@${domain}`));
  if (domains.length === 0 || bad !== undefined) {
    throw new UsageError(`${name} must list mail domains such as corp.example,sub.corp.example, not ${JSON.stringify(text)}`);
  }
  return domains;
}

/** Each clash on its own line, naming the accounts; then the new accounts left out for one. */
export function clashLines(report: Pick<SyncReport, 'clashes' | 'notAdded'>): string[] {
  const lines = report.clashes.map(
    (clash) =>
      `clash: ${clash.address} is claimed by ${clash.claimants.join(' and ')}; ` +
      (clash.keptBy === null ? "nobody gets it (it was nobody's before)" : `it stays with ${clash.keptBy} (its owner before)`),
  );
  for (const name of report.notAdded) lines.push(`clash: ${name} not added: its primary address belongs to another account`);
  return lines;
}

function domainSummary(domains: readonly string[] | null, report: SyncReport): string {
  const clashes =
    report.clashes.length > 0
      ? `; ${report.clashes.length} address clash${report.clashes.length === 1 ? '' : 'es'} (listed above, fix them in the directory)`
      : '';
  if (domains === null) return `  mail domains: not checked (give --domains, the stack output MailDomains)${clashes}`;
  return `  mail domains: ${domains.join(', ')}${clashes}`;
}

/** --timeout, else SHADOWMAIL_DIRECTORY_TIMEOUT, else the default: whole seconds, 1 to 600. */
function timeoutSeconds(flag: string | undefined): number {
  const fromEnv = process.env.SHADOWMAIL_DIRECTORY_TIMEOUT;
  const [text, name] =
    flag !== undefined ? [flag, '--timeout'] : fromEnv !== undefined ? [fromEnv, 'SHADOWMAIL_DIRECTORY_TIMEOUT'] : [null, ''];
  if (text === null) return DEFAULT_TIMEOUT_SECONDS;
  const seconds = Number(text);
  if (!/^\d+$/.test(text) || seconds < 1 || seconds > 600) {
    throw new UsageError(`${name} must be a whole number of seconds from 1 to 600, not ${JSON.stringify(text)}`);
  }
  return seconds;
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`${name} is required`);
  return value;
}

function parseCount(value: string, name: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(count)) throw new UsageError(`${name} must be a whole number`);
  return count;
}

function flags(user: DirectoryUser): string {
  return [user.kind === 'shared' ? 'shared' : '', user.disabled ? 'disabled' : '', user.admin ? 'admin' : ''].filter(Boolean).join(',');
}

function describeUser(user: DirectoryUser): string {
  const marks = flags(user);
  const aliases = user.aliases.length > 0 ? `  aliases ${user.aliases.join(', ')}` : '';
  return `${user.mailbox}  "${user.displayName}"${marks ? `  [${marks}]` : ''}${aliases}`;
}

function describeChange(before: DirectoryUser, after: DirectoryUser, fields: Array<keyof DirectoryUser>): string {
  const parts = fields.map((field) => {
    if (field === 'aliases') {
      const added = after.aliases.filter((alias) => !before.aliases.includes(alias)).map((alias) => `+${alias}`);
      const removed = before.aliases.filter((alias) => !after.aliases.includes(alias)).map((alias) => `-${alias}`);
      return `aliases ${[...added, ...removed].join(' ')}`;
    }
    // Contact values stay out of the output (sync.log keeps it): only that they changed.
    if (field === 'mobile' || field === 'privateEmail') {
      return `${field} ${before[field] === undefined ? 'added' : after[field] === undefined ? 'removed' : 'changed'}`;
    }
    return `${field} ${JSON.stringify(before[field])} → ${JSON.stringify(after[field])}`;
  });
  return `~ ${after.mailbox}  ${parts.join('; ')}`;
}

/** The diff an admin reads: users by stable id, then addresses that moved or went away. */
export function formatPlan(plan: SyncPlan): string {
  const lines: string[] = [];
  for (const user of plan.users.added) lines.push(`+ ${describeUser(user)}`);
  for (const change of plan.users.changed) lines.push(describeChange(change.before, change.after, change.fields));
  for (const user of plan.users.removed) lines.push(`- ${describeUser(user)}`);
  for (const move of plan.addresses.moved) lines.push(`> ${move.address}: ${move.from} → ${move.to}`);
  for (const gone of plan.addresses.removed) lines.push(`- address ${gone.address} (was ${gone.mailbox})`);
  if (plan.rewriteAll) lines.push('! the previous sync was interrupted: every address item is written again');
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

function summary(source: DirectorySource, target: Target, report: SyncReport, seconds: number): string {
  const { users, addresses } = report.plan;
  const skipped = report.warnings.length > 0 ? `, ${report.warnings.length} skipped` : '';
  return [
    `${report.dryRun ? 'dry run, nothing changed: ' : ''}${source.description} → ${target.description}`,
    `  read ${report.read} users${skipped} in ${(report.timings.readSourceMs / 1000).toFixed(2)} s`,
    `  users: ${users.added.length} added, ${users.changed.length} changed, ${users.removed.length} removed, ${users.unchanged} unchanged`,
    `  addresses: ${addresses.set.length} new, ${addresses.moved.length} moved, ${addresses.removed.length} removed` +
      (report.plan.rewriteAll ? ` (all ${report.plan.writes.putAddresses.length} rewritten)` : ''),
    `  ${report.dryRun ? 'would have written' : 'wrote'} ${writeCount(report.plan)} items in ${(report.timings.writeMs / 1000).toFixed(2)} s; ${seconds.toFixed(2)} s in all`,
  ].join('\n');
}

function writeCount(plan: SyncPlan): number {
  const { writes } = plan;
  return writes.putAddresses.length + writes.deleteAddresses.length + writes.putUsers.length + writes.deleteUsers.length;
}
