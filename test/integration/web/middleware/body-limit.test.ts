// The webmail's body limit, through app.request(): checked before anything parses a form,
// by Content-Length or by counting a streamed body; without a session only a small form
// (64 KiB) is taken, with one the Lambda-sized 4 MiB.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_BODY_WITHOUT_SESSION_BYTES, MAX_WEB_BODY_BYTES } from '../../../../lambdas/core/payload-limits.ts';
import { ALICE, type Harness, ORIGIN, sessionCookie, startHarness, tamperPayload } from '../../../support/app-under-test.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());
beforeEach(async () => h.switchOn());

/** A urlencoded form of `bytes` bytes (the CSRF field first, then padding). */
function form(bytes: number, csrf = 'csrf-token-for-tests-0123456789abcdefghijkl'): Buffer {
  const head = `_csrf=${csrf}&pad=`;
  return Buffer.concat([Buffer.from(head), Buffer.alloc(bytes - head.length, 'x')]);
}

/** A body without Content-Length, in 16 KiB chunks; with `stallAfter`, it never ends after that many bytes. */
function streamed(body: Buffer, stallAfter = Number.POSITIVE_INFINITY): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= stallAfter) return new Promise<void>(() => undefined);
      if (at >= body.length) return controller.close();
      const chunk = body.subarray(at, at + 16 * 1024);
      at += chunk.length;
      controller.enqueue(new Uint8Array(chunk));
    },
  });
}

function post(path: string, body: Buffer | ReadableStream<Uint8Array>, cookie?: string) {
  return h.makeApp().request(`${ORIGIN}${path}`, {
    method: 'POST',
    headers: {
      origin: ORIGIN,
      'accept-language': 'en',
      'content-type': 'application/x-www-form-urlencoded',
      ...(Buffer.isBuffer(body) && { 'content-length': String(body.length) }),
      ...(cookie && { cookie }),
    },
    body,
    ...(!Buffer.isBuffer(body) && { duplex: 'half' }),
  } as RequestInit);
}

describe('the webmail body limit', () => {
  it('refuses a form over 64 KiB without a session with 413 by its Content-Length; a small one goes on to the route', async () => {
    // Act
    const refused = await post('/auth/logout', form(MAX_BODY_WITHOUT_SESSION_BYTES + 1));
    const small = await post('/auth/logout', form(1024));

    // Assess
    expect(refused.status).toBe(413);
    expect(await refused.text()).toContain('Without a session this takes at most 64 KB');
    expect(small.status).not.toBe(413);
  });

  it('counts a streamed body without a session: 413 once 64 KiB are past, without waiting for the end of the body', async () => {
    // Prepare: 128 KiB arrive, then the sender goes quiet and never ends the body.
    const stream = streamed(form(10 * 1024 * 1024), 2 * MAX_BODY_WITHOUT_SESSION_BYTES);

    // Act
    const refused = await post('/auth/logout', stream);

    // Assess
    expect(refused.status).toBe(413);
  });

  it('with a session takes up to 4 MiB, refuses more (413) by length and by count', async () => {
    // Prepare
    const { cookie } = await sessionCookie(ALICE, { clock: h.clock });
    const over = form(MAX_WEB_BODY_BYTES + 1);

    // Act
    const within = await post('/auth/logout', form(MAX_BODY_WITHOUT_SESSION_BYTES * 4), cookie);
    const declared = await post('/auth/logout', over, cookie);
    const counted = await post('/auth/logout', streamed(over), cookie);

    // Assess: the one within the limit reaches the route (sign-out redirects).
    expect(within.status).toBe(303);
    expect(declared.status).toBe(413);
    expect(await declared.text()).toContain('larger than 4 MB');
    expect(counted.status).toBe(413);
  });

  it('counts a cookie with a broken signature or an expired one as no session', async () => {
    // Prepare
    const { cookie } = await sessionCookie(ALICE, { clock: h.clock });
    const tampered = tamperPayload(cookie, (session) => ({ ...session, email: 'mallory@corp.test' }));
    const { cookie: expired } = await sessionCookie(ALICE, { clock: h.clock, expiresInSeconds: -1 });
    const body = form(MAX_BODY_WITHOUT_SESSION_BYTES + 1);

    // Act
    const statuses = [(await post('/auth/logout', body, tampered)).status, (await post('/auth/logout', body, expired)).status];

    // Assess
    expect(statuses).toEqual([413, 413]);
  });
});
