// doctor, DNS (node:dns, the public view): each domain's MX — SES only (shadowmail is
// the MX, design a), another host first and SES second (backup MX, design b), only
// other hosts (mail does not reach shadowmail: not protected) — and the DKIM CNAMEs
// the stack's DkimRecord outputs name. Admins behind split-horizon DNS pass
// --dns-server with a public resolver: what their own resolver says about their
// domains is not what senders on the internet see.
import { Resolver } from 'node:dns/promises';
import { type Check, fail, ok, warn } from './check.ts';
import type { DoctorContext } from './context.ts';

export interface MxRecord {
  exchange: string;
  priority: number;
}

/** A failed lookup: NODATA / NOTFOUND mean "no such record"; anything else is the resolver's trouble. */
export interface LookupFailure {
  code: string;
}

const ABSENT = new Set(['ENODATA', 'ENOTFOUND']);
const host = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** What the MX records of `domain` mean for shadowmail, whose SES endpoint is `sesTarget`. */
export function mxCheck(domain: string, sesTarget: string, records: MxRecord[] | LookupFailure): Check {
  const name = `MX ${domain}`;
  const record = `${domain} MX 10 ${sesTarget}`;
  if (!Array.isArray(records)) {
    if (!ABSENT.has(records.code)) return lookupFailed(name, records);
    return fail(
      'dns',
      name,
      'no MX record: senders cannot deliver mail for this domain at all',
      `publish ${record} (output MxRecord<Domain>; docs/deploy.md 5.3)`,
    );
  }
  if (records.length === 0) return fail('dns', name, 'no MX record', `publish ${record}`);
  const ses = records.filter((mx) => host(mx.exchange) === host(sesTarget));
  const others = records.filter((mx) => host(mx.exchange) !== host(sesTarget));
  const list = (mxs: MxRecord[]) =>
    [...mxs]
      .sort((a, b) => a.priority - b.priority)
      .map((mx) => `${host(mx.exchange)} (${mx.priority})`)
      .join(', ');
  if (ses.length === 0) {
    return fail(
      'dns',
      name,
      `MX points only at ${list(others)}: mail does not reach shadowmail, nothing is protected`,
      `when Exchange and the receive connector are ready (docs/deploy.md 5.2), publish ${record} (design a) or add it behind your MX as a backup (design b)`,
    );
  }
  if (others.length === 0) return ok('dns', name, `${sesTarget} only: shadowmail is the MX (design a)`);
  const sesBest = Math.min(...ses.map((mx) => mx.priority));
  const sesWorst = Math.max(...ses.map((mx) => mx.priority));
  const othersBest = Math.min(...others.map((mx) => mx.priority));
  const othersWorst = Math.max(...others.map((mx) => mx.priority));
  if (othersWorst < sesBest) {
    return ok(
      'dns',
      name,
      `${list(others)} first, then ${sesTarget} (${sesBest}): backup MX (design b) — shadowmail takes only mail that cannot reach ${host(others[0]!.exchange)}`,
    );
  }
  if (sesWorst < othersBest) {
    return warn(
      'dns',
      name,
      `${sesTarget} first, then ${list(others)}: a sender that cannot reach SES delivers to the other host, around shadowmail`,
      `remove the other MX to have every message in shadowmail (design a), or keep it knowingly`,
    );
  }
  return warn(
    'dns',
    name,
    `SES and ${list(others)} share a preference: senders pick either, and mail to the other host goes around shadowmail`,
    `give the MX records distinct preferences: ${record} alone (design a), or SES behind your MX (design b)`,
  );
}

export interface DkimRecord {
  name: string;
  value: string;
}

/** The DKIM CNAMEs of one domain: each must resolve to exactly what its output says. */
export function dkimCheck(domain: string, records: Array<DkimRecord & { found: string[] | LookupFailure }>): Check {
  const name = `DKIM ${domain}`;
  const trouble = records.find((record) => !Array.isArray(record.found) && !ABSENT.has(record.found.code));
  if (trouble) return lookupFailed(name, trouble.found as LookupFailure);
  const wrong = records.filter((record) => !Array.isArray(record.found) || !record.found.map(host).includes(host(record.value)));
  if (wrong.length === 0) return ok('dns', name, `${records.length} of ${records.length} CNAMEs as the stack outputs say`);
  const described = wrong.map((record) =>
    Array.isArray(record.found) && record.found.length > 0
      ? `${record.name} points at ${record.found.join(', ')}`
      : `${record.name} missing`,
  );
  return fail(
    'dns',
    name,
    `${records.length - wrong.length} of ${records.length} CNAMEs right; ${described.join('; ')}`,
    `create ${wrong.map((record) => `${record.name} CNAME ${record.value}`).join(', ')} (outputs DkimRecord<Domain>1..3)`,
  );
}

function lookupFailed(name: string, failure: LookupFailure): Check {
  return fail(
    'dns',
    name,
    `the DNS lookup failed (${failure.code})`,
    'check your resolver, or name a public one with --dns-server 1.1.1.1',
  );
}

/** "<name> CNAME <value>" as the DkimRecord outputs state it. */
export function parseDkimOutput(value: string): DkimRecord | null {
  const match = /^(\S+)\s+CNAME\s+(\S+)$/.exec(value.trim());
  return match ? { name: host(match[1]!), value: host(match[2]!) } : null;
}

export function newResolver(server: string | undefined): Resolver {
  // Short: a doctor run should not hang on a dead resolver; two tries cover a lost UDP packet.
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (server) resolver.setServers([server]);
  return resolver;
}

const failure = (error: unknown): LookupFailure => ({ code: String((error as { code?: string }).code ?? (error as Error).message) });

export async function dnsChecks(ctx: DoctorContext, resolver: Resolver): Promise<Check[]> {
  const checks: Check[] = [];
  const sesTarget = ctx.outputs.get('mxTarget') ?? `inbound-smtp.${ctx.region}.amazonaws.com`;
  for (const domain of ctx.domains) {
    const mx = await resolver.resolveMx(domain).catch(failure);
    checks.push(mxCheck(domain, sesTarget, mx));
  }
  // The DkimRecord<Domain><n> outputs, grouped by the domain their names end in.
  const dkim = new Map<string, DkimRecord[]>();
  for (const [key, value] of ctx.outputs.stacks.stateless) {
    if (!/^DkimRecord[A-Za-z0-9]+\d$/.test(key)) continue;
    const record = parseDkimOutput(value);
    const domain = record && ctx.domains.find((candidate) => record.name.endsWith(`._domainkey.${candidate}`));
    if (record && domain) dkim.set(domain, [...(dkim.get(domain) ?? []), record]);
  }
  for (const [domain, records] of dkim) {
    const found = [];
    for (const record of records) found.push({ ...record, found: await resolver.resolveCname(record.name).catch(failure) });
    checks.push(dkimCheck(domain, found));
  }
  return checks;
}
