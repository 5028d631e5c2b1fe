// The OIDC sign-in adapter against the real local provider (oidc-provider on 127.0.0.1
// with a Cognito-shaped issuer): code flow + PKCE end to end over HTTP, ID tokens
// checked by aws-jwt-verify, and the checks that must refuse a wrong callback.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ADMIN_GROUP, DemoDirectory } from '../../../../../lambdas/adapters/local/demo-directory.ts';
import { type LocalOidcProvider, startLocalOidcProvider } from '../../../../../lambdas/adapters/local/local-oidc-provider.ts';
import { cognitoIssuer, OidcSignIn, SignInFailedError } from '../../../../../lambdas/adapters/oidc/oidc-sign-in.ts';
import { ConfigurationError } from '../../../../../lambdas/core/errors.ts';
import { CookieJar, signInAtProvider } from '../../../../support/oidc-fetch-flow.ts';

const POOL = 'zz-local-1_shadowmailTest';
const CLIENT_ID = 'shadowmail-webmail';
const REDIRECT = 'http://127.0.0.1:9/auth/callback';

let dir: string;
let directory: DemoDirectory;
let provider: LocalOidcProvider;

async function startProvider(): Promise<LocalOidcProvider> {
  return startLocalOidcProvider({
    port: 0,
    keysFile: join(dir, 'oidc-keys.json'),
    stateFile: join(dir, 'oidc-state.json'),
    userPoolId: POOL,
    directory,
    client: { clientId: CLIENT_ID, redirectUris: [REDIRECT], postLogoutRedirectUris: ['http://127.0.0.1:9/'] },
  });
}

function signInAdapter(overrides: Partial<ConstructorParameters<typeof OidcSignIn>[0]> = {}): OidcSignIn {
  return new OidcSignIn({
    userPoolId: POOL,
    clientId: CLIENT_ID,
    clientSecret: provider.clientSecret,
    redirectUri: REDIRECT,
    discoveryUrl: provider.discoveryUrl,
    ...overrides,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shadowmail-oidc-'));
  directory = await DemoDirectory.open(join(dir, 'directory.json'), 'corp.test');
  provider = await startProvider();
});

afterAll(async () => {
  await provider?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('OidcSignIn against the local provider', () => {
  it('signs alice in with code + PKCE and returns her identity from a Cognito-shaped ID token', async () => {
    // Prepare
    const signIn = signInAdapter();
    const { redirectTo, pending } = await signIn.begin('/mail');
    const authorization = new URL(redirectTo);
    // Act
    const { callbackUrl } = await signInAtProvider(redirectTo, provider.url, { email: 'alice@corp.test', password: 'alice' });
    const identity = await signIn.complete(callbackUrl!, pending);
    // Assess
    expect(provider.issuer).toBe(cognitoIssuer(POOL));
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorization.searchParams.get('state')).toBe(pending.state);
    expect(authorization.searchParams.get('nonce')).toBe(pending.nonce);
    expect(pending.returnTo).toBe('/mail');
    expect(identity).toEqual({ subject: directory.list()[0]!.subject, email: 'alice@corp.test', name: 'Alice Example', groups: [] });
  });

  it('carries the admin group claim and lower-cases the address', async () => {
    // Prepare
    const signIn = signInAdapter();
    const { redirectTo, pending } = await signIn.begin('/');
    // Act
    const { callbackUrl } = await signInAtProvider(redirectTo, provider.url, { email: 'ADMIN@Corp.Test', password: 'admin' });
    const identity = await signIn.complete(callbackUrl!, pending);
    // Assess
    expect(identity.email).toBe('admin@corp.test');
    expect(identity.groups).toEqual([DEMO_ADMIN_GROUP]);
  });

  it('refuses a wrong password at the provider', async () => {
    // Prepare
    const { redirectTo } = await signInAdapter().begin('/');
    // Act
    const result = await signInAtProvider(redirectTo, provider.url, { email: 'alice@corp.test', password: 'wrong' });
    // Assess
    expect(result.callbackUrl).toBeNull();
    expect(result.loginStatus).toBe(401);
  });

  it('refuses a callback whose state, nonce or code verifier does not belong to the pending sign-in', async () => {
    // Prepare
    const signIn = signInAdapter();
    const attempts = [];
    for (const spoil of ['state', 'nonce', 'codeVerifier'] as const) {
      const { redirectTo, pending } = await signIn.begin('/');
      const { callbackUrl } = await signInAtProvider(redirectTo, provider.url, { email: 'bob@corp.test', password: 'bob' });
      attempts.push({ callbackUrl: callbackUrl!, pending: { ...pending, [spoil]: `${pending[spoil]}x` } });
    }
    // Act
    const outcomes = await Promise.all(
      attempts.map(({ callbackUrl, pending }) =>
        signIn.complete(callbackUrl, pending).then(
          () => 'accepted',
          (error: unknown) => error,
        ),
      ),
    );
    // Assess
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(SignInFailedError);
  });

  it('refuses a code used twice', async () => {
    // Prepare
    const signIn = signInAdapter();
    const { redirectTo, pending } = await signIn.begin('/');
    const { callbackUrl } = await signInAtProvider(redirectTo, provider.url, { email: 'bob@corp.test', password: 'bob' });
    await signIn.complete(callbackUrl!, pending);
    // Act
    const replay = await signIn.complete(callbackUrl!, pending).then(
      () => 'accepted',
      (error: unknown) => error,
    );
    // Assess
    expect(replay).toBeInstanceOf(SignInFailedError);
  });

  it('refuses ID tokens for another app client (aws-jwt-verify audience check)', async () => {
    // Prepare: the provider issues the token to CLIENT_ID; the verifier expects another audience.
    const signIn = signInAdapter();
    const strict = signInAdapter();
    (strict as unknown as { verifier: unknown }).verifier = (await import('aws-jwt-verify')).CognitoJwtVerifier.create({
      userPoolId: POOL,
      clientId: 'other-client',
      tokenUse: 'id',
    });
    const { redirectTo, pending } = await signIn.begin('/');
    const { callbackUrl } = await signInAtProvider(redirectTo, provider.url, { email: 'alice@corp.test', password: 'alice' });
    // Act
    const outcome = await strict.complete(callbackUrl!, pending).then(
      () => 'accepted',
      (error: unknown) => error,
    );
    // Assess
    expect(outcome).toBeInstanceOf(SignInFailedError);
    expect((outcome as Error).message).toMatch(/ID token was refused/);
  });

  it('keeps signing keys, client secret and the provider session across a restart', async () => {
    // Prepare
    const jar = new CookieJar();
    const first = signInAdapter();
    const firstStart = await first.begin('/');
    const firstRound = await signInAtProvider(firstStart.redirectTo, provider.url, { email: 'alice@corp.test', password: 'alice' }, jar);
    const before = { secret: provider.clientSecret, jwks: await (await fetch(provider.jwksUrl)).json() };
    await provider.close();
    // Act
    provider = await startProvider();
    const signIn = signInAdapter();
    const { redirectTo, pending } = await signIn.begin('/');
    const secondRound = await signInAtProvider(redirectTo, provider.url, { email: 'alice@corp.test', password: 'alice' }, jar);
    const identity = await signIn.complete(secondRound.callbackUrl!, pending);
    // Assess
    expect(firstRound.formsSubmitted).toBe(1);
    expect(secondRound.formsSubmitted).toBe(0);
    expect(provider.clientSecret).toBe(before.secret);
    expect(await (await fetch(provider.jwksUrl)).json()).toEqual(before.jwks);
    expect(identity.email).toBe('alice@corp.test');
  });

  it('offers the configured logout URL, or none', () => {
    // Prepare
    const withLogout = signInAdapter({ logoutUrl: `${provider.endSessionUrl}?client_id=${CLIENT_ID}` });
    // Act + Assess
    expect(withLogout.signOutUrl()).toBe(`${provider.endSessionUrl}?client_id=${CLIENT_ID}`);
    expect(signInAdapter().signOutUrl()).toBeNull();
  });

  it('allows plain http only for a provider on 127.0.0.1', () => {
    // Prepare
    const attempts = ['http://localhost:8788/.well-known/openid-configuration', 'http://10.0.0.1/.well-known/openid-configuration'];
    // Act
    const outcomes = attempts.map((discoveryUrl) => {
      try {
        signInAdapter({ discoveryUrl });
        return 'accepted';
      } catch (error) {
        return error;
      }
    });
    // Assess
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(ConfigurationError);
  });
});

describe('DemoDirectory', () => {
  it('feeds the directory store like a directory sync: address map, aliases, admin from the group', async () => {
    // Prepare
    const { MemoryDirectoryStore } = await import('../../../../support/memory-directory-store.ts');
    const { syncDirectory } = await import('../../../../../lambdas/core/directory.ts');
    const store = new MemoryDirectoryStore();
    // Act
    await syncDirectory(directory.asSource(), store, { owner: 'test', now: () => new Date() });
    // Assess
    expect((await store.userForAddress('INFO@corp.test'))?.mailbox).toBe('alice@corp.test');
    expect(await store.userForAddress('bob@corp.test')).toMatchObject({ mailbox: 'bob@corp.test', admin: false, disabled: false });
    expect((await store.userForAddress('admin@corp.test'))?.admin).toBe(true);
  });

  it('keeps its users (and their subjects) across restarts and never stores a password in clear', async () => {
    // Prepare
    const file = join(dir, 'directory.json');
    // Act
    const reopened = await DemoDirectory.open(file, 'other.test');
    const text = await (await import('node:fs/promises')).readFile(file, 'utf8');
    // Assess
    expect(reopened.list()).toEqual(directory.list());
    expect(text).not.toMatch(/"(alice|bob|admin)"/);
    expect(await reopened.authenticate('bob@corp.test', 'bob')).toMatchObject({ email: 'bob@corp.test' });
    expect(await reopened.authenticate('bob@corp.test', 'alice')).toBeNull();
    expect(await reopened.authenticate('nobody@corp.test', 'bob')).toBeNull();
  });
});
