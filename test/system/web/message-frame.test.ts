// The message frame in real Chromium: hostile messages rendered like the webmail
// renders them, served as the iframe's own document with its CSP, inside the
// sandboxed iframe of a parent page. Nothing may run (no dialog, no call of the
// window.__pwned() binding that Playwright injects into every frame), nothing may
// be fetched from anywhere but the webmail, and the parent page stays as it was.
// A control without sandbox and CSP proves that the detectors do detect.

import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailparserMessageRenderer } from '../../../lambdas/adapters/mime/mailparser-message-renderer.ts';
import {
  attachmentDownloadHeaders,
  contentDispositionAttachment,
  MESSAGE_FRAME_CSP,
  messageFrameDocument,
  messageFrameHeaders,
  safeContentType,
} from '../../../web/message-frame.ts';
import { launchChromium } from '../../support/chromium.ts';
import {
  addRenderedFrame,
  type ContextWatch,
  type FrameHarness,
  foreignRequests,
  htmlMessage,
  startFrameHarness,
  watchContext,
} from '../../support/frame-harness.ts';

/** Our own hostile vectors; {R} is the "remote" server, remote.invalid a host that never resolves. */
const HOSTILE_VECTORS = [
  '<script>__pwned("script");alert("script")</script>',
  '<img src="x" onerror="__pwned(\'onerror\')"><img src="{R}/img-onerror.png" onerror="__pwned(\'remote onerror\')">',
  '<svg onload="__pwned(\'svg\')"><script>__pwned("svg script")</script><image href="{R}/svg-image.png"/></svg>',
  '<iframe src="javascript:parent.__pwned(\'iframe js\')"></iframe><iframe srcdoc="<script>parent.__pwned(\'srcdoc\')</script>"></iframe><iframe src="{R}/iframe"></iframe>',
  '<a id="js-link" href="javascript:__pwned(\'js link\')">js link</a> <a href="  JaVaScRiPt&#x3a;__pwned(\'entity link\')">entity link</a> <a href="java&#09;script:__pwned(\'tab link\')">tab link</a>',
  '<form action="{R}/form" method="post"><input name="a" value="b"><button id="submit">send</button></form><input type="image" src="{R}/input-image.png">',
  '<meta http-equiv="refresh" content="0;url={R}/meta-refresh"><meta http-equiv="refresh" content="0;url=javascript:__pwned(\'meta\')">',
  '<base href="{R}/base/"><img src="relative.png"><a href="relative-link">relative</a>',
  '<link rel="stylesheet" href="{R}/link.css"><link rel="prefetch" href="{R}/prefetch"><link rel="dns-prefetch" href="//remote.invalid"><link rel="preconnect" href="http://remote.invalid">',
  '<style>@import url({R}/import.css); @import "http://remote.invalid/import2.css"; body{background:url({R}/style-bg.png)} @font-face{font-family:x;src:url({R}/font.woff)} p{font-family:x} li{list-style-image:url({R}/list.png)} .c{background-image:image-set("{R}/image-set.png" 1x)}</style><p>styled</p><ul><li>item</li></ul><div class="c">c</div>',
  '<div style="background-image:url({R}/inline-bg.png)">a</div><div style="background:url(&quot;{R}/inline-bg2.png&quot;)">b</div><div style="background:\\75 rl({R}/escaped.png)">c</div><div style="cursor:url({R}/cursor.png),auto">d</div>',
  '<table background="{R}/table-bg.png"><tr><td background="{R}/td-bg.png">cell</td></tr></table><body background="{R}/body-bg.png">',
  '<video poster="{R}/poster.png" src="{R}/video.mp4" autoplay></video><audio src="{R}/audio.mp3" autoplay></audio><object data="{R}/object"></object><embed src="{R}/embed">',
  '<img srcset="{R}/srcset.png 1x, http://remote.invalid/srcset2.png 2x"><picture><source srcset="{R}/source.png"><img src="cid:logo@x" alt="pic"></picture>',
  '<math><mtext><table><mglyph><style><img src=x onerror="__pwned(\'mxss math\')">',
  '<noscript><p title="</noscript><img src=x onerror=__pwned(\'mxss noscript\')>"></noscript>',
  '<svg><style><img src=x onerror="__pwned(\'svg style\')"></style></svg>',
  '<a href="{R}/pinged" ping="{R}/ping">ping link</a>',
  "<img src=\"data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' onload='parent.__pwned(1)'><image href='{R}/svg-data.png'/></svg>\">",
  '<div style="width:expression(__pwned(\'expression\'))">x</div><div style="behavior:url({R}/x.htc);-moz-binding:url({R}/x.xml#x)">y</div>',
  '<body onload="__pwned(\'body onload\')"><details open ontoggle="__pwned(\'ontoggle\')"><summary>s</summary>d</details>',
  '<a href="vbscript:msgbox(1)">vb</a><a href="data:text/html,<script>alert(1)</script>">data link</a><object data="data:text/html,<script>parent.__pwned(\'object data\')</script>"></object>',
  '<img src="cid:logo@x" id="cid-image" alt="logo"><div style="background:url(cid:logo@x)">cid background</div>',
];

function vectors(remoteOrigin: string): string[] {
  return HOSTILE_VECTORS.map((vector) => vector.replaceAll('{R}', remoteOrigin));
}

describe('message frame in Chromium', () => {
  let harness: FrameHarness;
  let browser: Browser;
  const renderer = new MailparserMessageRenderer();

  beforeAll(async () => {
    harness = await startFrameHarness();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await harness?.close();
  });

  async function openPage(url: string): Promise<{ context: BrowserContext; watch: ContextWatch }> {
    const context = await browser.newContext();
    const watch = await watchContext(context);
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
    // Time for anything delayed (meta refresh, lazy images) to show itself.
    await page.waitForTimeout(700);
    return { context, watch };
  }

  it('control: the same vectors without sandbox and CSP do run and fetch (the detectors work)', async () => {
    // Prepare: raw vectors, served as plain HTML, in an iframe without sandbox.
    const before = harness.remoteRequests.length;
    const paths = vectors(harness.remoteOrigin).map((vector) =>
      harness.addFrame(`<!DOCTYPE html><title>raw</title>${vector}`, { 'Content-Type': 'text/html; charset=utf-8' }),
    );

    // Act
    const { context, watch } = await openPage(harness.pageUrl(paths, { sandbox: false }));
    await context.close();

    // Assess
    expect(watch.pwned.length).toBeGreaterThan(0);
    expect(watch.dialogs.length).toBeGreaterThan(0);
    expect(harness.remoteRequests.length).toBeGreaterThan(before);
  });

  it('runs nothing and fetches nothing remote for rendered hostile messages, remote content blocked', async () => {
    // Prepare
    const before = harness.remoteRequests.length;
    const cidBefore = harness.cidRequests.length;
    const frames = await Promise.all(
      vectors(harness.remoteOrigin).map((vector) => addRenderedFrame(harness, renderer, htmlMessage(vector), false)),
    );

    // Act
    const { context, watch } = await openPage(harness.pageUrl(frames.map((frame) => frame.path)));
    const page = context.pages()[0];
    if (page === undefined) throw new Error('no page');
    const canary = await page.locator('#canary').textContent();
    const cidWidth = await page
      .frames()
      .find((frame) => frame.url().endsWith(frames.at(-1)?.path ?? '-'))
      ?.locator('#cid-image')
      .evaluate((image) => (image as unknown as { naturalWidth: number }).naturalWidth);
    await context.close();

    // Assess: nothing ran, nothing but the app was asked for anything, the parent is untouched.
    expect(watch.pwned).toEqual([]);
    expect(watch.dialogs).toEqual([]);
    expect(watch.popups).toEqual([]);
    expect(foreignRequests(watch, harness.appOrigin)).toEqual([]);
    expect(harness.remoteRequests.slice(before)).toEqual([]);
    expect(canary).toBe('intact');
    expect(page.url()).toMatch(new RegExp(`^${harness.appOrigin}/page`));
    // Remote content was there and the reader is told so; cid: images do load from the app.
    const flagged = frames.flatMap((frame, index) => (frame.remoteContentBlocked ? [index] : []));
    expect(flagged).toEqual([1, 9, 10, 11, 13]);
    expect(cidWidth).toBe(4);
    const cidRequests = harness.cidRequests.slice(cidBefore);
    expect(cidRequests.map((request) => request.contentId)).toContain('logo@x');
    // What the webmail's cid: route must know: from the sandboxed (origin-less) frame,
    // Chromium sends these requests cross-site, without the SameSite session cookie,
    // so the URL itself has to carry the authorization.
    expect(cidRequests.every((request) => request.cookie === undefined)).toBe(true);
  });

  it('stays inert when the reader clicks every link and button in the frames', async () => {
    // Prepare
    const frames = await Promise.all(
      vectors(harness.remoteOrigin).map((vector) => addRenderedFrame(harness, renderer, htmlMessage(vector), false)),
    );
    const context = await browser.newContext();
    const watch = await watchContext(context);
    const page = await context.newPage();
    await page.goto(harness.pageUrl(frames.map((frame) => frame.path)), { waitUntil: 'load' });
    const before = harness.remoteRequests.length;

    // Act: every link without an http(s) target, and every button (none should be left).
    let clicked = 0;
    for (const frame of page.frames().slice(1)) {
      for (const target of await frame.locator('a:not([href^="http"]), button, input').all()) {
        await target.click({ timeout: 2_000 }).catch(() => undefined);
        clicked++;
      }
    }
    await page.waitForTimeout(500);
    await context.close();

    // Assess
    expect(clicked).toBeGreaterThan(5);
    expect(watch.pwned).toEqual([]);
    expect(watch.dialogs).toEqual([]);
    expect(watch.popups.filter((url) => url !== 'about:blank')).toEqual([]);
    expect(harness.remoteRequests.slice(before)).toEqual([]);
  });

  it('defence in depth: the CSP and sandbox alone stop unsanitized vectors from running or loading subresources', async () => {
    // Prepare: the vectors NOT sanitized, but served with the frame's headers in the sandboxed iframe.
    const before = harness.remoteRequests.length;
    const paths = vectors(harness.remoteOrigin).map((vector) =>
      harness.addFrame(
        messageFrameDocument({ subject: 'raw', text: null, html: vector }, { allowRemote: false, lang: 'en' }),
        messageFrameHeaders(false),
      ),
    );

    // Act
    const { context, watch } = await openPage(harness.pageUrl(paths));
    await context.close();

    // Assess: no script, no request — Chromium does not even follow <meta refresh> in a
    // frame sandboxed without allow-scripts (the sanitizer drops <meta> anyway).
    expect(watch.pwned).toEqual([]);
    expect(watch.dialogs).toEqual([]);
    expect(watch.popups).toEqual([]);
    expect(harness.remoteRequests.slice(before)).toEqual([]);
  });

  it('loads remote http(s) images only when remote content is allowed, and nothing else even then', async () => {
    // Prepare: one message, rendered twice.
    const vector = `<img id="remote" src="${harness.remoteOrigin}/allowed-image.png"><div style="background-image:url(${harness.remoteOrigin}/allowed-bg.png)">bg</div><style>@import url(${harness.remoteOrigin}/still-blocked.css);</style><script>__pwned('allowed')</script><a href="${harness.remoteOrigin}/link" ping="${harness.remoteOrigin}/ping">l</a>`;
    const blocked = await addRenderedFrame(harness, renderer, htmlMessage(vector), false);
    const allowed = await addRenderedFrame(harness, renderer, htmlMessage(vector), true);

    // Act
    const before = harness.remoteRequests.length;
    const first = await openPage(harness.pageUrl([blocked.path]));
    await first.context.close();
    const afterBlocked = harness.remoteRequests.length;
    const second = await openPage(harness.pageUrl([allowed.path]));
    await second.context.close();

    // Assess
    expect(blocked.remoteContentBlocked).toBe(true);
    expect(allowed.remoteContentBlocked).toBe(false);
    expect(afterBlocked).toBe(before);
    expect(
      harness.remoteRequests
        .slice(afterBlocked)
        .map((request) => request.path)
        .sort(),
    ).toEqual(['/allowed-bg.png', '/allowed-image.png']);
    expect(harness.remoteRequests.slice(afterBlocked).every((request) => request.referer === undefined)).toBe(true);
    expect(second.watch.pwned).toEqual([]);
  });

  it('opens links in a new tab without opener or referrer', async () => {
    // Prepare
    const frame = await addRenderedFrame(
      harness,
      renderer,
      htmlMessage(`<a id="out" href="${harness.remoteOrigin}/landing">out</a>`),
      false,
    );
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(harness.pageUrl([frame.path]), { waitUntil: 'load' });
    const before = harness.remoteRequests.length;

    // Act
    const popupPromise = context.waitForEvent('page');
    await page.frames()[1]?.locator('#out').click();
    const popup = await popupPromise;
    await popup.waitForLoadState('load');
    const hasOpener = await popup.evaluate(() => (globalThis as unknown as { opener: unknown }).opener !== null);
    await context.close();

    // Assess
    expect(popup.url()).toBe(`${harness.remoteOrigin}/landing`);
    expect(hasOpener).toBe(false);
    // (The new tab asks for its own favicon, as any page does.)
    expect(harness.remoteRequests.slice(before).filter((request) => request.path !== '/favicon.ico')).toEqual([
      { path: '/landing', referer: undefined },
    ]);
  });

  it('serves attachments as downloads with their UTF-8 name, inert even when forced inline', async () => {
    // Prepare: an HTML attachment with script, once as download, once with the disposition stripped.
    const body = '<!DOCTYPE html><script>alert("attachment")</script><img src=x onerror="__pwned(\'attachment\')">';
    const filename = 'Grüße € (final) 100%.html';
    const headers = attachmentDownloadHeaders({ filename, contentType: 'text/html', size: Buffer.byteLength(body) });
    const download = harness.addResponse(body, headers);
    const { 'Content-Disposition': _disposition, ...inlineHeaders } = headers;
    const inline = harness.addResponse(body, inlineHeaders);
    const context = await browser.newContext({ acceptDownloads: true });
    const watch = await watchContext(context);
    const page = await context.newPage();

    // Act
    const downloadPromise = page.waitForEvent('download');
    await page.goto(`${harness.appOrigin}${download}`).catch(() => undefined);
    const started = await downloadPromise;
    await page.goto(`${harness.appOrigin}${inline}`, { waitUntil: 'load' });
    await page.waitForTimeout(300);
    await context.close();

    // Assess
    expect(started.suggestedFilename()).toBe(filename);
    expect(watch.dialogs).toEqual([]);
    expect(watch.pwned).toEqual([]);
    expect(headers['Content-Security-Policy']).toBe("default-src 'none'; sandbox");
  });

  it('uses the documented policy', () => {
    // Assess: the policy text the page and the tests rely on.
    expect(MESSAGE_FRAME_CSP(false)).toBe(
      "default-src 'none'; script-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; font-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox",
    );
    expect(MESSAGE_FRAME_CSP(true)).toContain("img-src 'self' data: https: http:");
  });
});

describe('message frame document and download headers', () => {
  it('shows text escaped, with http(s) addresses as new-tab links, and the page language', () => {
    // Prepare
    const text = 'See <b>this</b> & https://example.com/a?b=1&c=2. Or javascript:alert(1) and http://x.example/"onmouseover=alert(1)';

    // Act
    const document = messageFrameDocument({ subject: '<Subject>', text, html: null }, { allowRemote: false, lang: 'de-DE' });

    // Assess
    expect(document).toContain('<html lang="de-DE">');
    expect(document).toContain('<title>&#60;Subject&#62;</title>');
    expect(document).toContain(
      '<pre class="message-text">See &#60;b&#62;this&#60;/b&#62; &#38; <a href="https://example.com/a?b=1&#38;c=2" target="_blank" rel="noopener noreferrer nofollow">https://example.com/a?b=1&#38;c=2</a>. Or javascript:alert(1) and ' +
        '<a href="http://x.example/" target="_blank" rel="noopener noreferrer nofollow">http://x.example/</a>&#34;onmouseover=alert(1)</pre>',
    );
    expect(document).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; script-src &#39;none&#39;; img-src &#39;self&#39; data:;`,
    );
  });

  it('puts rendered HTML in as it is and refuses a language that is not a tag', () => {
    // Act
    const document = messageFrameDocument(
      { subject: 's', text: 'ignored', html: '<p>rendered</p>' },
      { allowRemote: true, lang: 'en"><script>' },
    );

    // Assess
    expect(document).toContain('<html lang="en">');
    expect(document).toContain('<body><p>rendered</p></body>');
    expect(document).not.toContain('ignored');
  });

  it.each([
    ['report.pdf', 'attachment; filename="report.pdf"'],
    ['Grüße.txt', `attachment; filename="Gru_e.txt"; filename*=UTF-8''Gr%C3%BC%C3%9Fe.txt`],
    ['a "quoted" \\ name.txt', `attachment; filename="a _quoted_ _ name.txt"; filename*=UTF-8''a%20%22quoted%22%20%5C%20name.txt`],
    ["it's (100%)*.txt", `attachment; filename="it's (100_)*.txt"; filename*=UTF-8''it%27s%20%28100%25%29%2A.txt`],
    ['line\r\nX-Injected: 1.txt', 'attachment; filename="lineX-Injected: 1.txt"'],
    ['lone \ud800 surrogate', `attachment; filename="lone _ surrogate"; filename*=UTF-8''lone%20%EF%BF%BD%20surrogate`],
    ['\u0000 ', 'attachment; filename="download"'],
  ])('encodes the file name %j per RFC 6266 / 5987', (filename, expected) => {
    // Act
    const header = contentDispositionAttachment(filename);

    // Assess
    expect(header).toBe(expected);
  });

  it('sends only well-formed media types and never lets a download render', () => {
    // Act
    const headers = attachmentDownloadHeaders({ filename: 'x.svg', contentType: 'Image/SVG+XML', size: 12 });

    // Assess
    expect(headers).toEqual({
      'Content-Type': 'image/svg+xml',
      'Content-Disposition': 'attachment; filename="x.svg"',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'; sandbox",
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'private, no-store',
      'Content-Length': '12',
    });
    expect(safeContentType('text/html; charset=utf-8')).toBe('application/octet-stream');
    expect(safeContentType('text/html\r\nX-Evil: 1')).toBe('application/octet-stream');
    expect(safeContentType('')).toBe('application/octet-stream');
  });
});
