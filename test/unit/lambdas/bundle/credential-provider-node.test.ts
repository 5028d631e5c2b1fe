// The credential chain of the Lambda bundles: the environment, where Lambda puts the
// execution role's credentials, and nothing else.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { credentialsTreatedAsExpired, defaultProvider } from '../../../../lambdas/bundle/credential-provider-node.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('the credential chain of the Lambda bundles', () => {
  it("reads the function's credentials from the environment", async () => {
    // Prepare
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'token');

    // Act
    const credentials = await defaultProvider()();

    // Assess
    expect(credentials).toMatchObject({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' });
  });

  it('fails without them, trying no other source', async () => {
    // Prepare
    vi.stubEnv('AWS_ACCESS_KEY_ID', '');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', '');

    // Act + Assess
    await expect(defaultProvider()()).rejects.toThrow(/environment variable/i);
  });

  it('treats credentials as expired five minutes before they expire', () => {
    expect(credentialsTreatedAsExpired({ expiration: new Date(Date.now() + 60_000) })).toBe(true);
    expect(credentialsTreatedAsExpired({ expiration: new Date(Date.now() + 3_600_000) })).toBe(false);
    expect(credentialsTreatedAsExpired({})).toBe(false);
  });
});
