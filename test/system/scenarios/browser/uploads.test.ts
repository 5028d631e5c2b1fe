// Attachments in real Chromium against local mode as `npm start` runs it, with its
// S3-compatible upload endpoint on its own origin: the draft is saved before a file is
// chosen; a file above what the message still takes is refused in the page before a
// byte is sent, with a clear message in role="alert" (en and de), and the draft — To,
// Subject, text and the file attached earlier — is kept; a 5 MB file (more than a
// Lambda request can carry, the old bug) is uploaded and sent with the message. With
// script switched off the store's policy refuses the file and the draft is kept all the
// same. axe finds no violation on the upload page with its message, nor on the draft.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { draftOwner } from '../../../../lambdas/core/drafts.ts';
import { LOCAL_BUCKET } from '../../../../lambdas/wiring/local.ts';
import { localPaths } from '../../../../lambdas/wiring/local-data-dir.ts';
import { axeViolations } from '../../../support/axe.ts';
import { launchChromium } from '../../../support/chromium.ts';
import { type LocalWebmail, signIn, startLocalWebmail } from '../../../support/local-webmail.ts';
import { waitFor } from '../../../support/wait.ts';

const MB = 1024 * 1024;

let stack: LocalWebmail;
let browser: Browser;
let files: string;
const FILES = {
  notes: Buffer.from('Agenda: budget, hiring, the move.\n'),
  five: randomBytes(5 * MB),
  tooLarge: Buffer.alloc(25 * MB + 1, 7),
};

beforeAll(async () => {
  files = await mkdtemp(join(tmpdir(), 'shadowmail-upload-files-'));
  await writeFile(join(files, 'notes.txt'), FILES.notes);
  await writeFile(join(files, 'site-photos.bin'), FILES.five);
  await writeFile(join(files, 'whole-archive.bin'), FILES.tooLarge);
  stack = await startLocalWebmail();
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  if (files) await rm(files, { recursive: true, force: true });
});

/** The files the store holds for alice's draft (the local endpoint writes under the data directory). */
async function storedFiles(draftId: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const dir = join(localPaths(stack.dataDir).raw, LOCAL_BUCKET, 'uploads', draftOwner('alice@corp.test'), draftId, 'files');
  const slots = await readdir(dir).catch(() => [] as string[]);
  return (await Promise.all(slots.map((slot) => readdir(join(dir, slot))))).flat().sort();
}

describe('attaching files', () => {
  it.each([
    [
      'en-GB',
      {
        attach: 'Attach a file',
        upload: 'Upload',
        back: 'Back to the message',
        send: 'Send',
        to: 'To',
        subject: 'Subject',
        text: 'Message',
        attached: 'The file was attached.',
        refused:
          /The file “whole-archive\.bin” is 26[.,]2 MB, more than the .* this message still takes\. Nothing was uploaded and your message is kept\./,
      },
    ],
    [
      'de-DE',
      {
        attach: 'Datei anhängen',
        upload: 'Hochladen',
        back: 'Zurück zur Nachricht',
        send: 'Senden',
        to: 'An',
        subject: 'Betreff',
        text: 'Nachricht',
        attached: 'Die Datei wurde angehängt.',
        refused:
          /Die Datei „whole-archive\.bin“ ist 26,2 MB groß, mehr als die .* die diese Nachricht noch aufnimmt\. Es wurde nichts hochgeladen, Ihre Nachricht bleibt erhalten\./,
      },
    ],
  ] as const)(
    'in %s: refuses a file above the limit before uploading, with a clear message, and keeps the draft; a 5 MB file is sent with the message',
    async (locale, words) => {
      // Prepare
      const context = await browser.newContext({ locale });
      const page = await context.newPage();
      const consoleErrors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico')) consoleErrors.push(message.text());
      });
      await signIn(page, stack.base, 'alice');
      await page.goto(`${stack.base}/mail/compose`);
      const subject = `Board meeting ${locale}`;
      await page.getByLabel(words.to, { exact: true }).fill('Bob <bob@corp.test>');
      await page.getByLabel(words.subject).fill(subject);
      await page.getByLabel(words.text).fill('Dear Bob,\nthe agenda and the photos.\nAlice');
      const draftId = (await page.locator('input[name=draftId]').getAttribute('value'))!;

      // Act 1: a small file first.
      await page.getByRole('button', { name: words.attach }).click();
      await page.waitForURL(`${stack.base}/mail/drafts/${draftId}/attach`);
      await page.locator('#file').setInputFiles(join(files, 'notes.txt'));
      await page.getByRole('button', { name: words.upload }).click();
      await page.waitForURL(`${stack.base}/mail/drafts/${draftId}?done=attached`);
      const firstNotice = await page.getByRole('status').innerText();

      // Act 2: a file above what the message still takes.
      await page.getByRole('button', { name: words.attach }).click();
      await page.waitForURL(`${stack.base}/mail/drafts/${draftId}/attach`);
      const uploadRequests: string[] = [];
      const recordPosts = (request: { method(): string; url(): string }) => {
        if (request.method() === 'POST') uploadRequests.push(request.url());
      };
      page.on('request', recordPosts);
      await page.locator('#file').setInputFiles(join(files, 'whole-archive.bin'));
      await page.getByRole('button', { name: words.upload }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor({ state: 'visible' });
      const alertText = await alert.innerText();
      const stillOnAttach = page.url();
      const invalid = await page.locator('#file').getAttribute('aria-invalid');
      const attachViolations = await axeViolations(page);
      const storedAfterRefusal = await storedFiles(draftId);
      page.off('request', recordPosts);

      // Act 3: back to the message: everything is still there.
      await page.getByRole('link', { name: words.back }).click();
      await page.waitForURL(`${stack.base}/mail/drafts/${draftId}`);
      const kept = {
        to: await page.getByLabel(words.to, { exact: true }).inputValue(),
        subject: await page.getByLabel(words.subject).inputValue(),
        text: await page.getByLabel(words.text).inputValue(),
        notes: await page.getByRole('checkbox', { name: /notes\.txt/ }).isChecked(),
      };
      const draftViolations = await axeViolations(page);

      // Act 4: a 5 MB file, then send.
      await page.getByRole('button', { name: words.attach }).click();
      await page.waitForURL(`${stack.base}/mail/drafts/${draftId}/attach`);
      await page.locator('#file').setInputFiles(join(files, 'site-photos.bin'));
      await page.getByRole('button', { name: words.upload }).click();
      await page.waitForURL(`${stack.base}/mail/drafts/${draftId}?done=attached`);
      await page.getByRole('button', { name: words.send }).click();
      await page.waitForURL(`${stack.base}/mail/sent?done=sent`);
      const sent = await waitFor(
        'the message at the sink',
        async () => (await stack.sinkMessages()).find((message) => message.parsed.subject === subject),
        20_000,
        100,
      );
      await context.close();

      // Assess
      expect(firstNotice).toBe(words.attached);
      expect(alertText).toMatch(words.refused);
      expect(stillOnAttach).toBe(`${stack.base}/mail/drafts/${draftId}/attach`);
      expect(uploadRequests).toEqual([]);
      expect(invalid).toBe('true');
      expect(attachViolations).toEqual([]);
      expect(storedAfterRefusal).toEqual(['notes.txt']);
      expect(kept).toEqual({ to: 'Bob <bob@corp.test>', subject, text: 'Dear Bob,\nthe agenda and the photos.\nAlice', notes: true });
      expect(draftViolations).toEqual([]);
      expect(sent.recipients).toEqual(['bob@corp.test']);
      expect(sent.parsed.attachments.map((attachment) => [attachment.filename, attachment.contentType])).toEqual([
        ['notes.txt', 'text/plain'],
        ['site-photos.bin', 'application/octet-stream'],
      ]);
      expect(sent.parsed.attachments[0]!.content.equals(FILES.notes)).toBe(true);
      expect(sent.parsed.attachments[1]!.content.equals(FILES.five)).toBe(true);
      expect(await storedFiles(draftId)).toEqual([]);
      expect(consoleErrors).toEqual([]);
    },
  );

  it('without script, the store refuses the file and the draft is kept all the same', async () => {
    // Prepare
    const context = await browser.newContext({ locale: 'en-GB', javaScriptEnabled: false });
    const page = await context.newPage();
    await signIn(page, stack.base, 'alice');
    await page.goto(`${stack.base}/mail/compose`);
    await page.getByLabel('To', { exact: true }).fill('bob@corp.test');
    await page.getByLabel('Subject').fill('No script here');
    await page.getByLabel('Message').fill('Still here.');
    const draftId = (await page.locator('input[name=draftId]').getAttribute('value'))!;

    // Act
    await page.getByRole('button', { name: 'Attach a file' }).click();
    await page.waitForURL(`${stack.base}/mail/drafts/${draftId}/attach`);
    await page.locator('#file').setInputFiles(join(files, 'whole-archive.bin'));
    const [refusal] = await Promise.all([
      page.waitForResponse((response) => response.request().method() === 'POST'),
      page.getByRole('button', { name: 'Upload' }).click(),
    ]);
    const refusalBody = await refusal.text();
    await page.goto(`${stack.base}/mail/drafts/${draftId}`);
    const kept = { subject: await page.getByLabel('Subject').inputValue(), text: await page.getByLabel('Message').inputValue() };
    await context.close();

    // Assess
    expect(refusal.status()).toBe(400);
    expect(refusalBody).toContain('<Code>EntityTooLarge</Code>');
    expect(kept).toEqual({ subject: 'No script here', text: 'Still here.' });
    expect(await storedFiles(draftId)).toEqual([]);
  });
});
