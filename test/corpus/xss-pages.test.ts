// XSS vectors of ../shared/corpus/xss as real mail through the real webmail: a sample
// of 100 vectors spread over every category of all-vectors.jsonl, plus the H5SC test
// message and the HTTPLeaks page, each delivered over SMTP to local mode (child
// process, `npm start`'s entry point), ingested, and opened by alice through the real
// message page in Chromium (page, sandboxed frame, signed inline images). Nothing may
// run (no dialog, no call of the __pwned binding, no uncaught script error, no console
// error), nothing may open or navigate, and nothing may be requested from anywhere but
// the webmail: a context-level route aborts and records every request that does not go
// to 127.0.0.1, and every request the browser starts is checked against our origin.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.ts';
import { CORPUS_ROOT } from '../support/corpus.ts';
import { htmlMessage, watchContext } from '../support/frame-harness.ts';
import { type LocalWebmail, signIn, startLocalWebmail } from '../support/local-webmail.ts';

const SAMPLE_SIZE = 100;
// Time for load-time tricks (lazy images, animations, meta refresh at 0 s) to show.
const SETTLE_MS = 250;

interface Vector {
  id: string;
  category: string;
  raw: Buffer;
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Round robin over the categories until the sample is full; small categories run out first. */
async function sampleVectors(): Promise<Vector[]> {
  const xss = resolve(CORPUS_ROOT, 'xss');
  const rows = readFileSync(resolve(xss, 'all-vectors.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { id: number; category: string; payload: string });
  const byCategory = new Map<string, typeof rows>();
  for (const row of rows) byCategory.set(row.category, [...(byCategory.get(row.category) ?? []), row]);
  // Each category in a spread-out order (golden-ratio steps through its list), so the
  // first picks of a large category come from all over it, not from its start.
  const queues = [...byCategory.values()].map((list) =>
    list
      .map((row, index) => ({ row, key: (index * 0.6180339887) % 1 }))
      .sort((a, b) => a.key - b.key)
      .map(({ row }) => row),
  );
  const picked: typeof rows = [];
  while (picked.length < SAMPLE_SIZE && queues.some((queue) => queue.length > 0)) {
    for (const queue of queues) {
      const next = queue.shift();
      if (next && picked.length < SAMPLE_SIZE) picked.push(next);
    }
  }
  const vectors: Vector[] = [];
  for (const row of picked)
    vectors.push({ id: `all-vectors#${row.id}`, category: row.category, raw: await bytesOf(htmlMessage(row.payload, `vector ${row.id}`)) });
  vectors.push({ id: 'h5sc/test.eml', category: 'document', raw: readFileSync(resolve(xss, 'h5sc/test.eml')) });
  vectors.push({
    id: 'httpleaks/leak.html',
    category: 'document',
    raw: await bytesOf(htmlMessage(readFileSync(resolve(xss, 'httpleaks/leak.html'), 'utf8'), 'HTTPLeaks')),
  });
  return vectors;
}

describe('XSS vectors as mail, opened through the real message page (Chromium)', () => {
  let stack: LocalWebmail;
  let browser: Browser;
  let vectors: Vector[];
  const delivered: { vector: Vector; id: string }[] = [];

  beforeAll(async () => {
    vectors = await sampleVectors();
    stack = await startLocalWebmail();
    browser = await launchChromium();
    for (const vector of vectors)
      delivered.push({ vector, id: await stack.deliver(vector.raw, ['alice@corp.test'], 'attacker@remote.invalid') });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('samples every category of the corpus', () => {
    // Assess
    const categories = new Set(vectors.map((vector) => vector.category));
    expect(vectors).toHaveLength(SAMPLE_SIZE + 2);
    expect(categories.size).toBeGreaterThanOrEqual(17);
  });

  it('runs nothing, opens nothing, and requests nothing but the webmail for any of them', async () => {
    // Prepare
    const context = await browser.newContext({ locale: 'en-GB' });
    const watch = await watchContext(context);
    const aborted: string[] = [];
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname !== '127.0.0.1') {
        aborted.push(url.href);
        return route.abort();
      }
      return route.continue();
    });
    const page = await context.newPage();
    const scriptErrors: string[] = [];
    page.on('pageerror', (error) => scriptErrors.push(error.message));
    await signIn(page, stack.base, 'alice');
    const consoleBefore = watch.console.length;
    const requestsBefore = watch.requests.length;
    const problems: string[] = [];
    let framesLoaded = 0;

    // Act
    const started = performance.now();
    for (const { vector, id } of delivered) {
      const url = `${stack.base}/mail/m/${encodeURIComponent(id)}`;
      const response = await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
      await page.waitForTimeout(SETTLE_MS);
      if (response?.status() !== 200) problems.push(`${vector.id}: status ${response?.status()}`);
      if (page.url() !== url) problems.push(`${vector.id}: the page navigated to ${page.url()}`);
      const frames = page
        .frames()
        .slice(1)
        .map((frame) => frame.url());
      if (frames.length === 1 && frames[0] === `${url}/body`) framesLoaded++;
      else problems.push(`${vector.id}: frames ${JSON.stringify(frames)}`);
    }
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    await context.close();

    // Assess
    const requests = watch.requests.slice(requestsBefore);
    const foreign = requests.filter((url) => !(url.startsWith(`${stack.base}/`) || url.startsWith('data:') || url === 'about:blank'));
    const consoleErrors = watch.console.slice(consoleBefore).filter((line) => line.startsWith('error:'));
    console.info(
      `XSS through the message page: ${delivered.length} messages in ${seconds} s, ${requests.length} requests, ${framesLoaded} frames`,
    );
    expect(problems).toEqual([]);
    expect(framesLoaded).toBe(delivered.length);
    expect(watch.dialogs).toEqual([]);
    expect(watch.pwned).toEqual([]);
    expect(watch.popups).toEqual([]);
    expect(scriptErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(aborted).toEqual([]);
    expect(foreign).toEqual([]);
  }, 300_000);

  it('control: with remote images allowed, the HTTPLeaks page does reach out, and the route records and aborts it', async () => {
    // Prepare
    const leak = delivered.find(({ vector }) => vector.id === 'httpleaks/leak.html')!;
    const context = await browser.newContext({ locale: 'en-GB' });
    const watch = await watchContext(context);
    const aborted: string[] = [];
    await context.route('**/*', (route) => {
      if (new URL(route.request().url()).hostname !== '127.0.0.1') {
        aborted.push(route.request().resourceType());
        return route.abort();
      }
      return route.continue();
    });
    const page = await context.newPage();
    await signIn(page, stack.base, 'alice');

    // Act
    await page.goto(`${stack.base}/mail/m/${encodeURIComponent(leak.id)}?remote=1`, { waitUntil: 'load' });
    await page.waitForTimeout(SETTLE_MS);
    await context.close();

    // Assess: images only (what "show remote images" allows), and still nothing ran.
    expect(aborted.length).toBeGreaterThan(0);
    expect([...new Set(aborted)]).toEqual(['image']);
    expect(watch.dialogs).toEqual([]);
    expect(watch.pwned).toEqual([]);
  });
});
