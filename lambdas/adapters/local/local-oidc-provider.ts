// Local mode's stand-in for Cognito (+ AD): oidc-provider on 127.0.0.1 with a
// Cognito-shaped issuer and Cognito-shaped ID tokens (token_use, cognito:groups), so
// the webmail runs the same OIDC client and the same aws-jwt-verify check as in AWS.
// Users come from the demo directory; the sign-in page is our own plain HTML form.
// Signing keys, cookie keys and the client secret live under the data directory, so
// tokens and provider sessions stay valid across restarts.
// Beside the password form (the stand-in for AD FS, federated: its tokens carry an
// `identities` claim) the page offers Cognito's native break-glass paths, whose tokens
// carry none: staff sign in with a code by text message (break-glass-sign-in.ts) and
// named admins with password + TOTP. `shadowmail idp down` takes the password form away.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import type Provider from 'oidc-provider';
import type { Adapter, AdapterPayload, Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { DIRECTORY_ID_CLAIM } from '../../contract/sign-in.ts';
import { ShadowmailError } from '../../core/errors.ts';
import { cognitoIssuer } from '../oidc/oidc-sign-in.ts';
import { type BreakGlassPaths, isBreakGlassAccount } from './break-glass-sign-in.ts';
import type { DemoDirectory } from './demo-directory.ts';
import { escapeHtml, page, readBody, sendHtml } from './sign-in-page.ts';

export interface LocalOidcProviderOptions {
  /** Port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** JSON file with the provider's persistent secrets (created on first start). */
  keysFile: string;
  /** JSON file with the provider's sessions, grants and codes; in memory when omitted. */
  stateFile?: string;
  /** Cognito-shaped pool id `<region>_<id>`; the issuer is derived from it as Cognito does. */
  userPoolId: string;
  directory: DemoDirectory;
  client: { clientId: string; redirectUris: string[]; postLogoutRedirectUris: string[] };
  /** Present while `shadowmail idp down` has taken AD FS's stand-in down; looked at on every request. */
  idpDownFile?: string;
  /** The break-glass paths (SMS code, admin password + TOTP); without them only the password form. */
  breakGlass?: BreakGlassPaths;
}

export interface LocalOidcProvider {
  /** `https://cognito-idp.<region>.amazonaws.com/<poolId>` — the `iss` of every token. */
  issuer: string;
  /** Where it is actually served: http://127.0.0.1:<port>. */
  url: string;
  port: number;
  discoveryUrl: string;
  jwksUrl: string;
  endSessionUrl: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

interface PersistedKeys {
  signingKey: Record<string, unknown>;
  cookieKeys: string[];
  clientSecret: string;
}

const SCOPE = 'openid email profile';
/** The IdP's name in the user pool, as the stand-in for AD FS calls itself in tokens. */
const FEDERATED_PROVIDER = 'ADFS';
const HOUR = 3600;

export async function startLocalOidcProvider(options: LocalOidcProviderOptions): Promise<LocalOidcProvider> {
  const issuer = cognitoIssuer(options.userPoolId);
  const keys = await loadOrCreateKeys(options.keysFile);
  const { directory } = options;

  const store = options.stateFile ? await FileStore.open(options.stateFile) : null;
  const configuration: Configuration = {
    ...(store && { adapter: (model: string) => store.adapterFor(model) }),
    clients: [
      {
        client_id: options.client.clientId,
        client_secret: keys.clientSecret,
        redirect_uris: options.client.redirectUris,
        post_logout_redirect_uris: options.client.postLogoutRedirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [keys.signingKey as never] },
    cookies: { keys: keys.cookieKeys },
    // Cognito's ID token carries the profile claims itself; the verifier reads them there.
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub', 'token_use', 'cognito:username', 'cognito:groups', 'identities', DIRECTORY_ID_CLAIM],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    scopes: ['openid', 'email', 'profile'],
    pkce: { required: () => true },
    clientBasedCORS: () => false,
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
    },
    ttl: {
      AccessToken: HOUR,
      AuthorizationCode: 60,
      IdToken: HOUR,
      Interaction: HOUR,
      Session: 8 * HOUR,
      Grant: 14 * 24 * HOUR,
    },
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, subject) => {
      // The break-glass accounts: Cognito's native users (no `identities` claim).
      if (options.breakGlass && isBreakGlassAccount(subject)) return options.breakGlass.findAccount(subject);
      const user = directory.bySubject(subject);
      if (!user) return undefined;
      return {
        accountId: user.subject,
        claims: async (use) => ({
          sub: user.subject,
          ...(use === 'id_token' && { token_use: 'id' }),
          'cognito:username': `${FEDERATED_PROVIDER}_${user.email}`,
          'cognito:groups': user.groups,
          email: user.email,
          email_verified: true,
          name: user.name,
          // What Cognito puts into a federated user's token (the webmail reads its presence).
          identities: [
            { userId: user.email, providerName: FEDERATED_PROVIDER, providerType: 'SAML', issuer: null, primary: 'true', dateCreated: '0' },
          ],
        }),
      };
    },
    // A first-party client, as with Cognito: no consent screen.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { client, session, result } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      if (existing) return existing;
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope(SCOPE);
      await grant.save();
      return grant;
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Sign-in error', `<h1>Sign-in error</h1><p>${escapeHtml(String(out.error_description ?? out.error))}</p>`);
    },
  };

  // Loaded only when started: on Node 20 the module warns on import, which would
  // otherwise spoil every one-line error of the CLI and of local mode's start-up.
  const { default: ProviderClass } = await import('oidc-provider');
  const provider = new ProviderClass(issuer, configuration);
  const providerCallback = provider.callback();

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path.startsWith('/interaction/')) {
      interaction(provider, options, req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          res.statusCode = 400;
          res.setHeader('content-type', 'text/html; charset=utf-8');
        }
        res.end(page('Sign-in error', `<h1>Sign-in error</h1><p>${escapeHtml((error as Error).message)}</p><p><a href="/">Back</a></p>`));
      });
      return;
    }
    providerCallback(req, res);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : options.port);
    });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    issuer,
    url,
    port,
    discoveryUrl: `${url}/.well-known/openid-configuration`,
    jwksUrl: `${url}/jwks`,
    endSessionUrl: `${url}/session/end`,
    clientId: options.client.clientId,
    clientSecret: keys.clientSecret,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function interaction(
  provider: Provider,
  options: LocalOidcProviderOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const german = /^\s*de\b/i.test(String(req.headers['accept-language'] ?? ''));
  const text = german ? DE : EN;
  if (details.prompt.name !== 'login') {
    // Consent is granted by loadExistingGrant; any other prompt just resumes.
    await provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
    return;
  }
  const base = `/interaction/${encodeURIComponent(details.uid)}`;
  const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
  const finish = (accountId: string) =>
    provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
  const idpDown = options.idpDownFile !== undefined && existsSync(options.idpDownFile);
  const render = (status: number, email: string, failed: boolean) =>
    sendHtml(res, status, signInPage(base, text, email, failed, german, idpDown, options.breakGlass !== undefined));
  if (path !== base) {
    if (!options.breakGlass) return render(404, '', false);
    await options.breakGlass.handle({ req, res, uid: details.uid, base, sub: path.slice(base.length), german, finish });
    return;
  }
  if (req.method === 'POST') {
    // AD FS is down: its form is gone, and a post to it (an old tab, a script) is refused.
    if (idpDown) return render(503, '', false);
    const form = new URLSearchParams(await readBody(req, 16 * 1024));
    const email = form.get('email') ?? '';
    const user = await options.directory.authenticate(email, form.get('password') ?? '');
    if (user) return finish(user.subject);
    return render(401, email, true);
  }
  const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : '';
  render(200, hint, false);
}

const EN = {
  title: 'Sign in',
  intro: 'Local mode: this page stands in for your company sign-in. The demo users are listed in the README.',
  company: 'Sign in with your company account',
  companyDown: 'Your company sign-in is unavailable. Use a code by text message, or the administrator sign-in.',
  email: 'Email address',
  password: 'Password',
  submit: 'Sign in',
  failed: 'Email address or password is wrong.',
  other: 'Other ways to sign in',
  code: 'Sign in with a code by text message',
  admin: 'Administrator sign-in',
};
const DE = {
  title: 'Anmelden',
  intro: 'Lokaler Modus: Diese Seite vertritt die Anmeldung Ihres Unternehmens. Die Demo-Benutzer stehen in der README.',
  company: 'Mit Ihrem Firmenkonto anmelden',
  companyDown: 'Die Anmeldung Ihres Unternehmens ist nicht erreichbar. Melden Sie sich mit einem Code per SMS oder als Administrator an.',
  email: 'E-Mail-Adresse',
  password: 'Passwort',
  submit: 'Anmelden',
  failed: 'E-Mail-Adresse oder Passwort ist falsch.',
  other: 'Andere Wege der Anmeldung',
  code: 'Mit einem Code per SMS anmelden',
  admin: 'Anmeldung für Administratoren',
};

function signInPage(
  base: string,
  text: typeof EN,
  email: string,
  failed: boolean,
  german: boolean,
  idpDown: boolean,
  breakGlass: boolean,
): string {
  const error = failed ? `<p class="error" role="alert" id="error">${escapeHtml(text.failed)}</p>` : '';
  const describedBy = failed ? ' aria-describedby="error" aria-invalid="true"' : '';
  const company = idpDown
    ? `<p class="error" role="alert" id="idp-down">${escapeHtml(text.companyDown)}</p>`
    : `${error}
<form method="post" action="${base}" autocomplete="on">
  <label for="email">${escapeHtml(text.email)}</label>
  <input id="email" name="email" type="email" autocomplete="username" required value="${escapeHtml(email)}"${describedBy}>
  <label for="password">${escapeHtml(text.password)}</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required${describedBy}>
  <button type="submit">${escapeHtml(text.submit)}</button>
</form>`;
  const others = breakGlass
    ? `<h2>${escapeHtml(text.other)}</h2>
<ul>
  <li><a href="${base}/code">${escapeHtml(text.code)}</a></li>
  <li><a href="${base}/admin">${escapeHtml(text.admin)}</a></li>
</ul>`
    : '';
  return page(
    text.title,
    `<h1>${escapeHtml(text.title)}</h1>
<p>${escapeHtml(text.intro)}</p>
<h2>${escapeHtml(text.company)}</h2>
${company}
${others}`,
    german ? 'de' : 'en',
  );
}

async function logoutSource(ctx: KoaContextWithOIDC, form: string): Promise<void> {
  // `form` is the provider's hidden form (id op.logoutForm) with its CSRF token.
  ctx.body = page(
    'Sign out',
    `<h1>Sign out</h1><p>Sign out of the local sign-in as well?</p>${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`,
  );
}

async function postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
  ctx.body = page('Signed out', '<h1>Signed out</h1><p>You are signed out.</p>');
}

interface StoredEntry {
  payload: AdapterPayload;
  /** Epoch ms; null = no expiry. */
  expiresAt: number | null;
}

/**
 * The provider's state (sessions, grants, codes) in one JSON file, rewritten after each
 * change. Local mode has one user at a time and a handful of entries: enough to keep
 * provider sessions across restarts without a database.
 */
class FileStore {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private readonly entries: Map<string, StoredEntry>,
  ) {}

  static async open(file: string): Promise<FileStore> {
    const entries = new Map<string, StoredEntry>();
    try {
      const stored = JSON.parse(await readFile(file, 'utf8')) as Record<string, StoredEntry>;
      const now = Date.now();
      for (const [key, entry] of Object.entries(stored)) if (entry.expiresAt === null || entry.expiresAt > now) entries.set(key, entry);
    } catch (error) {
      // A missing or damaged state file only costs the users a new sign-in.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && !(error instanceof SyntaxError)) throw error;
    }
    return new FileStore(file, entries);
  }

  adapterFor(model: string): Adapter {
    const key = (id: string) => `${model}:${id}`;
    const live = (entry: StoredEntry | undefined) =>
      entry && (entry.expiresAt === null || entry.expiresAt > Date.now()) ? entry : undefined;
    const findWhere = (match: (payload: AdapterPayload) => boolean) =>
      [...this.entries].find(([k, entry]) => k.startsWith(`${model}:`) && live(entry) && match(entry.payload))?.[1].payload;
    return {
      upsert: async (id, payload, expiresIn) => {
        this.entries.set(key(id), { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : null });
        await this.persist();
      },
      find: async (id) => live(this.entries.get(key(id)))?.payload,
      findByUid: async (uid) => findWhere((payload) => payload.uid === uid),
      findByUserCode: async (userCode) => findWhere((payload) => payload.userCode === userCode),
      consume: async (id) => {
        const entry = this.entries.get(key(id));
        if (entry) entry.payload = { ...entry.payload, consumed: Math.floor(Date.now() / 1000) };
        await this.persist();
      },
      destroy: async (id) => {
        this.entries.delete(key(id));
        await this.persist();
      },
      revokeByGrantId: async (grantId) => {
        for (const [k, entry] of this.entries) if (entry.payload.grantId === grantId) this.entries.delete(k);
        await this.persist();
      },
    };
  }

  /** Serialized writes, each a whole-file rename, so a crash leaves the old or the new file. */
  private persist(): Promise<void> {
    const now = Date.now();
    for (const [k, entry] of this.entries) if (entry.expiresAt !== null && entry.expiresAt <= now) this.entries.delete(k);
    const text = JSON.stringify(Object.fromEntries(this.entries));
    const next = this.writing.then(async () => {
      await mkdir(dirname(this.file), { recursive: true });
      const temporary = `${this.file}.${process.pid}.tmp`;
      await writeFile(temporary, text, { mode: 0o600 });
      await rename(temporary, this.file);
    });
    this.writing = next.catch(() => undefined);
    return next;
  }
}

async function loadOrCreateKeys(file: string): Promise<PersistedKeys> {
  try {
    const keys = JSON.parse(await readFile(file, 'utf8')) as PersistedKeys;
    if (keys.signingKey && Array.isArray(keys.cookieKeys) && typeof keys.clientSecret === 'string') return keys;
    throw new Error('missing signingKey, cookieKeys or clientSecret');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ShadowmailError('OIDC_KEYS', `the local OIDC keys ${file} are not valid`, { cause: error });
    }
  }
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keys: PersistedKeys = {
    signingKey: { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' },
    cookieKeys: [randomBytes(32).toString('base64url')],
    clientSecret: randomBytes(32).toString('base64url'),
  };
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(keys), { mode: 0o600 });
  await rename(temporary, file);
  return keys;
}
