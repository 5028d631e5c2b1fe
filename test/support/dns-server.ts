// A tiny authoritative DNS server on 127.0.0.1 (UDP) for the tests of `shadowmail
// doctor` and of local mode's mail authenticator: it answers MX, CNAME and TXT questions from a zone the test fills, NXDOMAIN for
// names it does not know and NODATA for a known name without the asked type, so
// node:dns (c-ares) behaves as against a real resolver — pointed here with
// --dns-server 127.0.0.1:<port>. No npm package for DNS packets is installed; the
// encoding (RFC 1035 §4.1) is written out here: a header, the question copied from
// the query, and answers whose owner name is a compression pointer to that question.
import { createSocket, type RemoteInfo } from 'node:dgram';

export interface DnsZone {
  mx: Map<string, Array<{ priority: number; exchange: string }>>;
  cname: Map<string, string>;
  /** TXT records (SPF, DKIM keys, DMARC): each a string, split into 255-byte character-strings on the wire. */
  txt?: Map<string, string[]>;
}

export interface DnsServer {
  /** `127.0.0.1:<port>` for Resolver.setServers / --dns-server. */
  address: string;
  zone: DnsZone;
  /** Questions seen, as `<TYPE> <name>`. */
  questions: string[];
  close(): Promise<void>;
}

const TYPE = { CNAME: 5, MX: 15, TXT: 16 } as const;
const CLASS_IN = 1;
const TTL_SECONDS = 60;

export async function startDnsServer(zone: DnsZone = { mx: new Map(), cname: new Map() }): Promise<DnsServer> {
  const socket = createSocket('udp4');
  const questions: string[] = [];
  socket.on('message', (query: Buffer, peer: RemoteInfo) => {
    const answer = respond(query, zone, questions);
    if (answer) socket.send(answer, peer.port, peer.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  return {
    address: `127.0.0.1:${socket.address().port}`,
    zone,
    questions,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function respond(query: Buffer, zone: DnsZone, questions: string[]): Buffer | null {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return null;
  // The question: labels up to the root label, then QTYPE and QCLASS.
  const labels: string[] = [];
  let at = 12;
  while (at < query.length && query[at] !== 0) {
    const length = query[at]!;
    if (length > 63) return null;
    labels.push(query.subarray(at + 1, at + 1 + length).toString('ascii'));
    at += 1 + length;
  }
  const questionEnd = at + 5;
  if (questionEnd > query.length) return null;
  const type = query.readUInt16BE(at + 1);
  const name = labels.join('.').toLowerCase();
  questions.push(`${Object.entries(TYPE).find(([, code]) => code === type)?.[0] ?? type} ${name}`);

  const records: Buffer[] = [];
  if (type === TYPE.MX) {
    for (const mx of zone.mx.get(name) ?? []) {
      const exchange = encodeName(mx.exchange);
      const data = Buffer.alloc(2 + exchange.length);
      data.writeUInt16BE(mx.priority, 0);
      exchange.copy(data, 2);
      records.push(resourceRecord(TYPE.MX, data));
    }
  } else if (type === TYPE.CNAME && zone.cname.has(name)) {
    records.push(resourceRecord(TYPE.CNAME, encodeName(zone.cname.get(name)!)));
  } else if (type === TYPE.TXT) {
    for (const text of zone.txt?.get(name) ?? []) records.push(resourceRecord(TYPE.TXT, characterStrings(text)));
  }
  const known = zone.mx.has(name) || zone.cname.has(name) || (zone.txt?.has(name) ?? false);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0); // the query's id
  const recursionDesired = query.readUInt16BE(2) & 0x0100;
  // QR, AA, RD as asked, RA; RCODE 3 (NXDOMAIN) for an unknown name.
  header.writeUInt16BE(0x8000 | 0x0400 | recursionDesired | 0x0080 | (known ? 0 : 3), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  return Buffer.concat([header, query.subarray(12, questionEnd), ...records]);
}

/** An answer owned by the question's name: a pointer to offset 12, where the question starts. */
function resourceRecord(type: number, data: Buffer): Buffer {
  const fixed = Buffer.alloc(12);
  fixed.writeUInt16BE(0xc00c, 0);
  fixed.writeUInt16BE(type, 2);
  fixed.writeUInt16BE(CLASS_IN, 4);
  fixed.writeUInt32BE(TTL_SECONDS, 6);
  fixed.writeUInt16BE(data.length, 10);
  return Buffer.concat([fixed, data]);
}

/** TXT RDATA (RFC 1035 §3.3.14): the text as length-prefixed character-strings of at most 255 bytes. */
function characterStrings(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length || parts.length === 0; at += 255) {
    const chunk = bytes.subarray(at, at + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([...parts.map((part) => Buffer.concat([Buffer.from([part.length]), Buffer.from(part, 'ascii')])), Buffer.from([0])]);
}
