// The local provider's pages: one plain HTML frame (no script, no external resources)
// and the small helpers its forms need.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ShadowmailError } from '../../core/errors.ts';

export function page(title: string, body: string, lang = 'en'): string {
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} — shadowmail (local)</title>
<style>
body{font:1rem/1.5 system-ui,sans-serif;margin:0;padding:1rem;color:#1a1a1a;background:#fff}
main{max-width:24rem;margin:2rem auto}
label{display:block;margin-top:1rem;font-weight:600}
input{display:block;width:100%;box-sizing:border-box;padding:.5rem;font:inherit;border:1px solid #555;border-radius:4px}
button{margin-top:1.25rem;margin-right:.5rem;padding:.5rem 1rem;font:inherit;color:#fff;background:#0b57d0;border:0;border-radius:4px;cursor:pointer}
:focus-visible{outline:3px solid #b3261e;outline-offset:2px}
.error{color:#b3261e;font-weight:600}
</style>
</head>
<body><main>${body}</main></body>
</html>`;
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ShadowmailError('INVALID_INPUT', 'form too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
