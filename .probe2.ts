import { Readable } from 'node:stream';
import { MailParser } from 'mailparser';
for (const s of ['', 'just some text without colon\nmore text\n', '\r\n\r\nbody only\r\n']) {
  const p = new MailParser();
  p.on('headers', (h) => console.log('headers', [...h.entries()]));
  p.on('headerLines', (h) => console.log('lines', JSON.stringify(h)));
  p.on('data', (d) => console.log('data', d.type, JSON.stringify((d as any).text)));
  await new Promise((r) => { p.on('end', r); Readable.from([Buffer.from(s)]).pipe(p); });
  console.log('---');
}
