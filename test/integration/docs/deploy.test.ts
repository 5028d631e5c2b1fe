// docs/deploy.md is a runbook an Exchange admin follows command by command; this
// keeps it true to the code. Every `shadowmail <command> --flag` it shows is one the
// CLI's own help text knows, every `npm run X` a script of package.json, every key of
// its configuration table one lib/config.ts accepts (with the documented default and a
// valid example) and every key lib/config.ts fills in is in the table, its example
// configuration parses, every stack output it names is one the synthesized stacks have
// (and every output they have is in its table), its SES region list is
// lib/ses-regions.ts, and the error messages it quotes are the ones the code produces.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRuleSetActivation } from '../../../lambdas/core/ses-rule-set-activation.ts';
import { parseConfig, ShadowmailConfigError, type ShadowmailConfigInput } from '../../../lib/config.ts';
import { inboundMailNames } from '../../../lib/constructs/inbound-mail.ts';
import { SES_OPT_IN_REGIONS_WITHOUT_S3, SES_RECEIVING_REGIONS } from '../../../lib/ses-regions.ts';
import { buildShadowmail } from '../../../lib/shadowmail-app.ts';
import { runCli } from '../../support/cli-run.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const DOC = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const CDK_CONTEXT = (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

// ---------------------------------------------------------------- reading the doc

interface CodeBlock {
  lang: string;
  body: string;
}

// Fences may be indented (code inside a list item).
const FENCE = /^[ \t]*```([^\n]*)\n([\s\S]*?)^[ \t]*```[ \t]*$/gm;

function codeBlocks(markdown: string): CodeBlock[] {
  return [...markdown.matchAll(FENCE)].map((m) => ({ lang: m[1]!.trim(), body: m[2]! }));
}

/** `code spans` of the prose (fenced blocks removed first). */
function inlineSpans(markdown: string): string[] {
  return [...markdown.replace(FENCE, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
}

/** Lines with their continuations joined: bash `\`, PowerShell `` ` ``, cmd `^`. */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    const continued = /\s[\\`^]$/.exec(line);
    pending += continued ? `${line.slice(0, -1)} ` : line;
    if (!continued) {
      lines.push(pending);
      pending = '';
    }
  }
  if (pending !== '') lines.push(pending);
  return lines;
}

/** Section of the doc from a heading line to the next heading of the same or a higher level. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`docs/deploy.md has no heading ${JSON.stringify(heading)}`);
  const level = /^#+/.exec(heading)![0].length;
  const rest = markdown.slice(start + heading.length + 2);
  const next = new RegExp(`^#{1,${level}} `, 'm').exec(rest);
  return next ? rest.slice(0, next.index) : rest;
}

/** The rows of the markdown table whose header cells are `header`, as trimmed cells. */
function tableRows(markdown: string, header: string[]): string[][] {
  const lines = markdown.split('\n');
  const cells = (line: string) =>
    line
      .trim()
      .replace(/^\|/, '')
      .replace(/\|$/, '')
      .split('|')
      .map((cell) => cell.trim());
  const at = lines.findIndex((line) => line.trim().startsWith('|') && JSON.stringify(cells(line)) === JSON.stringify(header));
  if (at < 0) throw new Error(`docs/deploy.md has no table with the header | ${header.join(' | ')} |`);
  const rows: string[][] = [];
  for (const line of lines.slice(at + 2)) {
    if (!line.trim().startsWith('|')) break;
    const row = cells(line);
    if (row.length !== header.length) throw new Error(`table row has ${row.length} cells, not ${header.length}: ${line}`);
    rows.push(row);
  }
  return rows;
}

const backticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

// ---------------------------------------------------------------- shadowmail commands

interface Invocation {
  command: string;
  flags: string[];
  text: string;
}

/** Each `shadowmail <command> …` in a snippet: the command word and the --flags up to a pipe, redirect or `&&`. */
function invocations(snippet: string): Invocation[] {
  const found: Invocation[] = [];
  for (const line of logicalLines(snippet)) {
    // Quoted text (messages, DNs, a task's name, a mail subject) holds values, never a command or flag.
    const unquoted = line.replace(/"[^"]*"|'[^']*'/g, '""');
    for (const m of unquoted.matchAll(/(?:^|\s)shadowmail[ \t]+([a-z][a-z-]*)(?=\s|$)([^\n]*)/g)) {
      const rest = m[2]!.split(/\s(?:&&|\|\|?|;|>>?|2>&1)\s/)[0]!;
      const flags = [...rest.matchAll(/(?:^|\s)(--[a-z][a-z0-9-]*)/g)].map((f) => f[1]!);
      found.push({ command: m[1]!, flags, text: `shadowmail ${m[1]}${rest}`.trim() });
    }
  }
  return found;
}

function docInvocations(markdown: string): Invocation[] {
  return [...codeBlocks(markdown).flatMap((block) => invocations(block.body)), ...inlineSpans(markdown).flatMap(invocations)];
}

const flagsIn = (text: string): string[] => [...text.matchAll(/--[a-z][a-z0-9-]*/g)].map((m) => m[0]);

/**
 * The flags the help texts give each command: the command's lines of `shadowmail --help`
 * (plus the flags of its TARGET paragraph where a line says TARGET), and the command's
 * own `shadowmail <command> --help` where it has one.
 */
async function knownFlags(): Promise<Map<string, Set<string>>> {
  const top = await runCli('--help');
  expect(top.code, top.err).toBe(0);
  const lines = top.out.split('\n');
  const targetParagraph = top.out.slice(top.out.indexOf('TARGET is')).split('\n\n')[0]!;
  const commands = new Set(lines.map((line) => /^\s*shadowmail ([a-z]+)/.exec(line)?.[1]).filter((c): c is string => c !== undefined));
  const known = new Map<string, Set<string>>();
  for (const command of commands) {
    const own = lines.filter((line) => new RegExp(`^\\s*shadowmail ${command}\\b`).test(line));
    const flags = new Set(flagsIn(own.join('\n')));
    if (own.some((line) => line.includes('TARGET'))) for (const flag of flagsIn(targetParagraph)) flags.add(flag);
    const help = await runCli(command, '--help');
    if (help.code === 0) for (const flag of flagsIn(help.out)) flags.add(flag);
    known.set(command, flags);
  }
  return known;
}

/** What is wrong with these invocations: an unknown command or a flag its help does not list. */
function unknownUses(found: Invocation[], known: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  for (const { command, flags, text } of found) {
    const allowed = known.get(command);
    if (!allowed) {
      problems.push(`unknown command "${command}" in: ${text}`);
      continue;
    }
    for (const flag of flags) if (!allowed.has(flag)) problems.push(`shadowmail ${command} has no ${flag}: ${text}`);
  }
  return problems;
}

describe('docs/deploy.md: shadowmail commands', () => {
  let known: Map<string, Set<string>>;
  beforeAll(async () => {
    known = await knownFlags();
  });

  it('uses only commands and flags the CLI help knows', () => {
    // Prepare
    const found = docInvocations(DOC);

    // Act
    const problems = unknownUses(found, known);

    // Assess
    expect(new Set(found.map((use) => use.command))).toEqual(
      new Set(['trace', 'resend', 'failover', 'directory', 'doctor', 'probe', 'redrive', 'breakglass', 'cost', 'export', 'reconcile']),
    );
    expect(found.length).toBeGreaterThanOrEqual(15);
    expect(problems).toEqual([]);
  });

  it('names as bare flags in the prose only flags some command has', () => {
    // Prepare
    const everyFlag = new Set([...known.values()].flatMap((flags) => [...flags]));
    const bare = inlineSpans(DOC)
      .filter((span) => span.startsWith('--'))
      .map((span) => span.split(/\s/)[0]!);

    // Act
    const unknown = bare.filter((flag) => !everyFlag.has(flag));

    // Assess
    expect(bare.length).toBeGreaterThan(3);
    expect(unknown).toEqual([]);
  });

  it('would notice an unknown flag or command (the check can fail)', () => {
    // Prepare
    const wrong = docInvocations(
      '```sh\nnpx shadowmail failover on --bogus-flag \\\n  --stack x\nnpx shadowmail frobnicate --all\n```\nAnd `shadowmail trace --recipent a@b.example`.\n',
    );

    // Act
    const problems = unknownUses(wrong, known);

    // Assess
    expect(problems).toEqual([
      'shadowmail failover has no --bogus-flag: shadowmail failover on --bogus-flag    --stack x',
      'unknown command "frobnicate" in: shadowmail frobnicate --all',
      'shadowmail trace has no --recipent: shadowmail trace --recipent a@b.example',
    ]);
  });
});

describe('docs/deploy.md: npm scripts', () => {
  it('runs only scripts package.json has', () => {
    // Prepare
    const named = [...DOC.matchAll(/\bnpm run ([A-Za-z0-9:_-]+)/g)].map((m) => m[1]!);

    // Act
    const missing = named.filter((script) => !(script in PACKAGE.scripts));

    // Assess
    expect(named).toContain('drill');
    expect(missing).toEqual([]);
  });
});

// ---------------------------------------------------------------- configuration

const secretArn = (name: string) => `arn:aws:secretsmanager:eu-central-1:123456789012:secret:${name}-AbCdEf`;

/** Every optional part filled in, so that a key set alone never lacks a required sibling. */
const FULL: Omit<ShadowmailConfigInput, 'identityProvider'> = {
  stackId: 'shadowmail-corp',
  account: '123456789012',
  region: 'eu-central-1',
  domains: ['corp.example'],
  smartHost: {
    host: 'mail.corp.example',
    port: 25,
    tls: 'starttls-required',
    authSecretArn: secretArn('smarthost'),
    heloName: 'relay.corp.example',
  },
  webmail: {
    cognitoDomainPrefix: 'corp-example-shadowmail',
    customDomain: {
      domainName: 'mail-web.corp.example',
      certificateArn: 'arn:aws:acm:eu-central-1:123456789012:certificate/00000000-0000-0000-0000-000000000000',
    },
    timeZone: 'Europe/Berlin',
  },
  adminGroup: 'mail-admins',
  alarmEmail: 'alarms@corp.example',
  forwardBacklogAlarmMinutes: 45,
  natGateway: { elasticIpAllocationId: 'eipalloc-0fedcba9876543210', vpcCidr: '10.90.0.0/24' },
  ses: { takeOverActiveRuleSet: false },
  directorySync: {
    bindPasswordSecretArn: secretArn('bind'),
    bindPasswordSecretKeyArn: 'arn:aws:kms:eu-central-1:123456789012:key/00000000-0000-0000-0000-000000000000',
    externalId: 'some-external-id',
    rolesAnywhere: {
      trustAnchorArn: 'arn:aws:rolesanywhere:eu-central-1:123456789012:trust-anchor/00000000-0000-0000-0000-000000000000',
      certificateCommonName: 'sync-host',
    },
  },
  retentionDays: 30,
  forwardMaxAgeDays: 4,
};

function withoutKey(object: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = object;
  return rest;
}

const BASES: ShadowmailConfigInput[] = [
  {
    ...FULL,
    identityProvider: { type: 'saml', name: 'CorpADFS', metadataUrl: 'https://sts.corp.example/metadata.xml', emailAttribute: 'mail' },
  },
  { ...FULL, identityProvider: { type: 'saml', name: 'CorpADFS', metadataFile: 'metadata.xml', emailAttribute: 'mail' } },
  {
    ...FULL,
    identityProvider: {
      type: 'oidc',
      name: 'CorpEntra',
      issuer: 'https://login.microsoftonline.com/tenant/v2.0',
      clientId: 'client',
      clientSecretArn: secretArn('oidc'),
      emailClaim: 'upn',
    },
  },
  // An anonymous connector behind the NAT address instead of a login (section 6.2).
  {
    ...FULL,
    smartHost: { host: 'mail.corp.example', port: 25, tls: 'starttls-required', anonymousConnector: true, heloName: 'relay.corp.example' },
    identityProvider: { type: 'saml', name: 'CorpADFS', metadataUrl: 'https://sts.corp.example/metadata.xml', emailAttribute: 'mail' },
  },
  // CloudFront + WAF on CloudFront's own name (with webmail.customDomain it also needs waf.certificateArn, section 9.3).
  {
    ...FULL,
    webmail: {
      ...withoutKey(FULL.webmail as Record<string, unknown>, 'customDomain'),
      waf: { enabled: true },
    } as ShadowmailConfigInput['webmail'],
    identityProvider: { type: 'saml', name: 'CorpADFS', metadataUrl: 'https://sts.corp.example/metadata.xml', emailAttribute: 'mail' },
  },
];

const clone = <T>(value: T): T => structuredClone(value);

function setPath(target: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
  return target;
}

function deletePath(target: Record<string, unknown>, path: string): Record<string, unknown> {
  const keys = path.split('.');
  let node: Record<string, unknown> | undefined = target;
  for (const key of keys.slice(0, -1)) node = node?.[key] as Record<string, unknown> | undefined;
  if (node) delete node[keys.at(-1)!];
  return target;
}

function getPath(source: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], source);
}

/** Dotted paths of the leaves of a parsed configuration (arrays are leaves). */
function leafPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([key, child]) => leafPaths(child, prefix ? `${prefix}.${key}` : key));
}

interface ConfigRow {
  key: string;
  defaults: unknown[];
  example: unknown;
}

function configRows(markdown: string): ConfigRow[] {
  return tableRows(markdown, ['key', 'meaning', 'default', 'example']).map(([key, , defaultCell, exampleCell]) => {
    const keyNames = backticked(key!);
    const examples = backticked(exampleCell!);
    if (keyNames.length !== 1 || examples.length !== 1)
      throw new Error(`config table row needs one key and one example: | ${key} | … | ${exampleCell} |`);
    return {
      key: keyNames[0]!,
      defaults: backticked(defaultCell!).map((token) => JSON.parse(token) as unknown),
      example: JSON.parse(examples[0]!) as unknown,
    };
  });
}

/** The first base on which the row's example parses, or the errors of every base. */
function applicableBase(row: ConfigRow): { base: ShadowmailConfigInput } | { errors: string[] } {
  const errors: string[] = [];
  for (const base of BASES) {
    try {
      parseConfig(setPath(clone(base) as Record<string, unknown>, row.key, row.example));
      return { base };
    } catch (error) {
      errors.push((error as Error).message);
    }
  }
  return { errors };
}

describe('docs/deploy.md: the configuration', () => {
  const rows = configRows(DOC);

  it('documents keys lib/config.ts accepts, each with a valid example', () => {
    // Act
    const refused = rows.flatMap((row) => {
      const found = applicableBase(row);
      return 'errors' in found ? [`${row.key}: ${found.errors.join(' / ')}`] : [];
    });

    // Assess
    expect(rows.length).toBeGreaterThan(25);
    expect(refused).toEqual([]);
  });

  it('states the defaults lib/config.ts fills in', () => {
    // Prepare
    const withDefaults = rows.filter((row) => row.defaults.length > 0);

    // Act
    const wrong = withDefaults.flatMap((row) => {
      const found = applicableBase(row);
      if ('errors' in found) return [`${row.key}: no base accepts it`];
      const parsed = parseConfig(deletePath(clone(found.base) as Record<string, unknown>, row.key));
      const actual = getPath(parsed, row.key);
      return row.defaults.some((documented) => JSON.stringify(documented) === JSON.stringify(actual))
        ? []
        : [`${row.key}: documented ${JSON.stringify(row.defaults)}, lib/config.ts gives ${JSON.stringify(actual)}`];
    });

    // Assess
    expect(withDefaults.length).toBeGreaterThan(10);
    expect(wrong).toEqual([]);
  });

  it('lists every key lib/config.ts fills in', () => {
    // Prepare
    const documented = new Set(rows.map((row) => row.key));

    // Act
    const everyKey = new Set(BASES.flatMap((base) => leafPaths(parseConfig(base))));
    const missing = [...everyKey].filter((key) => !documented.has(key));

    // Assess
    expect(everyKey.size).toBeGreaterThan(25);
    expect(missing).toEqual([]);
  });

  it('would notice a key lib/config.ts does not know (the check can fail)', () => {
    // Act
    const found = applicableBase({ key: 'smartHost.hostname', defaults: [], example: 'mail.corp.example' });

    // Assess
    expect(
      'errors' in found && found.errors.every((message) => message.includes('shadowmail.smartHost.hostname: is not a known setting')),
    ).toBe(true);
  });

  it('shows an example configuration that parses, and quotes the error a typo gives', () => {
    // Prepare
    const examples = codeBlocks(DOC).filter((block) => block.lang === 'json' && block.body.includes('"smartHost"'));
    const quoted = codeBlocks(DOC)
      .flatMap((block) => block.body.split('\n'))
      .filter((line) => line.startsWith('shadowmail config: '));

    // Act
    const parsed = examples.map((block) => parseConfig(JSON.parse(block.body)));
    const typo = clone(JSON.parse(examples[0]!.body) as { smartHost: Record<string, unknown> });
    typo.smartHost.prot = typo.smartHost.port;
    delete typo.smartHost.port;
    let message = '';
    try {
      parseConfig(typo, 'config/corp.json');
    } catch (error) {
      if (!(error instanceof ShadowmailConfigError)) throw error;
      message = `shadowmail config: ${error.message}`;
    }

    // Assess
    expect(parsed.length).toBeGreaterThanOrEqual(1);
    expect(quoted).toEqual([message]);
  });

  it('lists exactly the SES receiving regions of lib/ses-regions.ts', () => {
    // Act
    const listed = new Set(
      backticked(section(DOC, '### 2.1 Choose a region where SES receives mail')).filter((token) => /^[a-z]{2}(-[a-z]+)+-\d$/.test(token)),
    );

    // Assess
    expect(listed).toEqual(new Set(SES_RECEIVING_REGIONS));
  });

  it('names the opt-in regions as not supported, and says why', () => {
    // Prepare
    const text = section(DOC, '### 2.1 Choose a region where SES receives mail');

    // Act
    const unnamed = SES_OPT_IN_REGIONS_WITHOUT_S3.filter((region) => !text.includes(region));

    // Assess
    expect(unnamed).toEqual([]);
    expect(text).toMatch(/Opt-in regions are not supported/);
    expect(text).toMatch(/does not support S3 buckets in\s+Opt-in regions/);
  });

  it('quotes the refusal the rule-set activation gives when another rule set is active', () => {
    // Prepare
    const quoted = codeBlocks(DOC)
      .flatMap((block) => block.body.split('\n'))
      .filter((line) => line.startsWith('SES receipt rule set "'));

    // Act
    const plan = planRuleSetActivation(
      { requestType: 'Create', ruleSetName: inboundMailNames('shadowmail-corp').ruleSetName, takeOver: false },
      'old-rules',
    );

    // Assess
    expect(plan.action).toBe('refuse');
    expect(quoted).toHaveLength(1);
    expect(plan.action === 'refuse' && plan.message.startsWith(quoted[0]!.replace(/ \.\.\.$/, ''))).toBe(true);
  });
});

// ---------------------------------------------------------------- stack outputs

const DOMAIN_LABELS = ['CorpExample', 'CorpGroupExample'];

describe('docs/deploy.md: stack outputs', () => {
  const outRoot = mkdtempSync(join(tmpdir(), 'shadowmail-deploy-doc-'));
  const outputs = { stateful: new Set<string>(), stateless: new Set<string>() };

  beforeAll(() => {
    // Between them the two configurations produce every output there is: SAML with an own
    // webmail name and an allocated NAT address, and the Entra ID example of the repository.
    const saml = parseConfig({
      stackId: 'shadowmail-corp',
      region: 'eu-central-1',
      domains: ['corp.example', 'corp-group.example'],
      smartHost: { host: 'mail.corp.example', port: 25, anonymousConnector: true },
      identityProvider: { type: 'saml', metadataUrl: 'https://adfs.corp.example/FederationMetadata/2007-06/FederationMetadata.xml' },
      webmail: {
        cognitoDomainPrefix: 'corp-example-shadowmail',
        customDomain: {
          domainName: 'webmail.corp.example',
          certificateArn: 'arn:aws:acm:eu-central-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
        },
      },
      natGateway: {},
      ses: { mailFromSubdomain: 'bounce' },
      breakGlass: { admins: [{ username: 'it-admin@corp.example', mobile: '+4917012345678' }] },
    });
    const entra = parseConfig(JSON.parse(readFileSync(join(ROOT, 'config/example-entra-nat.json'), 'utf8')));
    for (const config of [saml, entra]) {
      const app = new App({ outdir: mkdtempSync(join(outRoot, 'app-')), context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
      const stacks = buildShadowmail(app, config);
      const assembly = app.synth();
      for (const [kind, stack] of [
        ['stateful', stacks.stateful],
        ['stateless', stacks.stateless],
      ] as const) {
        const template = assembly.getStackByName(stack.stackName).template as { Outputs?: Record<string, unknown> };
        // Cross-stack reference plumbing of the CDK, not outputs anyone reads.
        for (const key of Object.keys(template.Outputs ?? {})) if (!key.startsWith('PublishOutput')) outputs[kind].add(key);
      }
    }
  }, 120_000);

  afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

  const expand = (name: string): string[] =>
    name.includes('<Domain>') ? DOMAIN_LABELS.map((label) => name.replace('<Domain>', label)) : [name];
  const generalize = (name: string): string => DOMAIN_LABELS.reduce((text, label) => text.replace(label, '<Domain>'), name);
  const tableEntries = () =>
    tableRows(DOC, ['output', 'stack', 'what it is for']).flatMap(([names, stack]) =>
      backticked(names!).map((name) => ({ name, stack: stack! })),
    );

  it('names in its outputs table only outputs of the stack it says', () => {
    // Prepare
    const entries = tableEntries();

    // Act
    const wrong = entries.flatMap(({ name, stack }) => {
      const have = outputs[stack as keyof typeof outputs];
      if (!have) return [`${name}: no stack "${stack}"`];
      return expand(name)
        .filter((output) => !have.has(output))
        .map((output) => `${output} is no output of the ${stack} stack`);
    });

    // Assess
    expect(entries.length).toBeGreaterThanOrEqual(18);
    expect(wrong).toEqual([]);
  });

  it('has every output of both stacks in its outputs table', () => {
    // Prepare
    const documented = new Set(tableEntries().map(({ name }) => name));

    // Act
    const missing = [...outputs.stateful, ...outputs.stateless].map(generalize).filter((name) => !documented.has(name));

    // Assess
    expect(missing).toEqual([]);
  });

  it('names in its prose and commands only outputs that exist', () => {
    // Prepare
    const mentioned = new Set([
      ...[...DOC.matchAll(/`([A-Z][A-Za-z0-9<>]*)` outputs?\b/g)].map((m) => m[1]!),
      ...[...DOC.matchAll(/\boutputs? `([A-Z][A-Za-z0-9<>]*)`/g)].map((m) => m[1]!),
      ...[...DOC.matchAll(/OutputKey==['"]([A-Za-z0-9]+)['"]/g)].map((m) => m[1]!),
    ]);
    const all = new Set([...outputs.stateful, ...outputs.stateless]);

    // Act
    const unknown = [...mentioned].flatMap(expand).filter((name) => !all.has(name));

    // Assess
    expect(mentioned.size).toBeGreaterThanOrEqual(5);
    expect(unknown).toEqual([]);
  });
});
