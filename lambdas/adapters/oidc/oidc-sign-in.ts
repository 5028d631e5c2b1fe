// The sign-in seam's OIDC adapter: authorization code flow with PKCE, state and nonce
// (openid-client), and the ID token checked by aws-jwt-verify's CognitoJwtVerifier —
// against Cognito in AWS, against the local Cognito-shaped provider in local mode.

import { CognitoJwtVerifier } from 'aws-jwt-verify';
import * as oidc from 'openid-client';
import { DIRECTORY_ID_CLAIM } from '../../contract/sign-in.ts';
import { normalizeAddress } from '../../core/addresses.ts';
import { ConfigurationError, ShadowmailError } from '../../core/errors.ts';
import type { Identity, PendingSignIn, SignInProvider } from '../../ports/sign-in.ts';

export interface OidcSignInOptions {
  /** Cognito user pool id `<region>_<id>`; issuer and audience checks follow from it. */
  userPoolId: string;
  clientId: string;
  /** App client secret (confidential client); none for a public client. */
  clientSecret?: string | null;
  /** Our callback, exactly as registered with the provider. */
  redirectUri: string;
  /** Defaults to the issuer's discovery document; local mode passes its 127.0.0.1 one. */
  discoveryUrl?: string;
  scope?: string;
  /** Where the browser goes after our sign-out (Cognito's /logout or an end-session URL). */
  logoutUrl?: string | null;
  timeoutSeconds?: number;
}

export class SignInFailedError extends ShadowmailError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SIGN_IN_FAILED', message, options);
  }
}

/** The issuer Cognito uses for a pool: `https://cognito-idp.<region>.amazonaws.com/<poolId>`. */
export function cognitoIssuer(userPoolId: string): string {
  // Same pattern as aws-jwt-verify's CognitoJwtVerifier.USER_POOL_ID_REGEX.
  const region = /^((?:eusc-[a-z]{2}|[a-z]{2})-(?:gov-)?[a-z]+-\d)_[a-zA-Z0-9]+$/.exec(userPoolId)?.[1];
  if (!region) throw new ConfigurationError('userPoolId', `not a Cognito user pool id: ${userPoolId}`);
  return `https://cognito-idp.${region}.amazonaws.com/${userPoolId}`;
}

export class OidcSignIn implements SignInProvider {
  private readonly discoveryUrl: URL;
  private readonly insecureLoopback: boolean;
  private readonly verifier;
  private readonly scope: string;
  private configuration: Promise<oidc.Configuration> | null = null;

  constructor(private readonly options: OidcSignInOptions) {
    // A discovery URL with /.well-known/ is taken as it is: openid-client then checks
    // tokens against the issuer the document names (Cognito's own or the local stand-in).
    this.discoveryUrl = new URL(options.discoveryUrl ?? `${cognitoIssuer(options.userPoolId)}/.well-known/openid-configuration`);
    this.insecureLoopback = this.discoveryUrl.protocol === 'http:';
    if (this.insecureLoopback && this.discoveryUrl.hostname !== '127.0.0.1') {
      throw new ConfigurationError('discoveryUrl', `plain http is allowed only for a provider on 127.0.0.1, not ${this.discoveryUrl.host}`);
    }
    if (this.discoveryUrl.protocol !== 'https:' && !this.insecureLoopback) {
      throw new ConfigurationError('discoveryUrl', `must be an https URL: ${this.discoveryUrl.href}`);
    }
    this.verifier = CognitoJwtVerifier.create({ userPoolId: options.userPoolId, clientId: options.clientId, tokenUse: 'id' });
    this.scope = options.scope ?? 'openid email profile';
  }

  async begin(returnTo: string): Promise<{ redirectTo: string; pending: PendingSignIn }> {
    const config = await this.config();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const pending: PendingSignIn = { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier, returnTo };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.options.redirectUri,
      scope: this.scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { redirectTo: url.href, pending };
  }

  async complete(callbackUrl: URL, pending: PendingSignIn): Promise<Identity> {
    const config = await this.config();
    // The redirect_uri sent to the token endpoint must be the registered one, whatever
    // host name the request arrived under (API Gateway, a proxy): rebuild it.
    const current = new URL(this.options.redirectUri);
    current.search = callbackUrl.search;
    let idToken: string | undefined;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      idToken = tokens.id_token;
    } catch (error) {
      throw new SignInFailedError(`the provider did not complete the sign-in: ${(error as Error).message}`, { cause: error });
    }
    if (!idToken) throw new SignInFailedError('the provider returned no ID token');
    let claims: Record<string, unknown>;
    try {
      claims = (await this.verifier.verify(idToken)) as Record<string, unknown>;
    } catch (error) {
      throw new SignInFailedError(`the ID token was refused: ${(error as Error).message}`, { cause: error });
    }
    return identityOf(claims);
  }

  signOutUrl(): string | null {
    return this.options.logoutUrl ?? null;
  }

  /** Discovery once per process (retried after a failure); the JWKS too when it is local. */
  private config(): Promise<oidc.Configuration> {
    this.configuration ??= this.discover().catch((error: unknown) => {
      this.configuration = null;
      throw new SignInFailedError(`OIDC discovery at ${this.discoveryUrl.href} failed: ${(error as Error).message}`, { cause: error });
    });
    return this.configuration;
  }

  private async discover(): Promise<oidc.Configuration> {
    const { clientSecret } = this.options;
    const config = await oidc.discovery(
      this.discoveryUrl,
      this.options.clientId,
      undefined,
      clientSecret ? oidc.ClientSecretBasic(clientSecret) : oidc.None(),
      {
        timeout: this.options.timeoutSeconds ?? 10,
        ...(this.insecureLoopback && { execute: [oidc.allowInsecureRequests] }),
      },
    );
    const jwksUri = config.serverMetadata().jwks_uri;
    // aws-jwt-verify fetches only https JWKS; the local provider's is http on 127.0.0.1.
    if (this.insecureLoopback && jwksUri) {
      const response = await fetch(jwksUri, { signal: AbortSignal.timeout(10_000) });
      if (!response.ok) throw new Error(`JWKS ${jwksUri} answered ${response.status}`);
      this.verifier.cacheJwks((await response.json()) as Parameters<typeof this.verifier.cacheJwks>[0]);
    }
    return config;
  }
}

/** Who the verified ID token's claims say signed in; exported for the claim rules' tests. */
export function identityOf(claims: Record<string, unknown>): Identity {
  const subject = claims.sub;
  // Cognito puts `identities` into every federated user's token and none into a native user's.
  const nativeAccount = claims.identities === undefined;
  // A native account's address is its username, which the directory sync (or the admin's
  // setup) set and nobody can change; its `email` attribute the user could rewrite with
  // their own access token (UpdateUserAttributes), since the app client must be able to
  // write the attributes the IdP maps.
  const email = nativeAccount ? claims['cognito:username'] : claims.email;
  if (typeof subject !== 'string' || subject === '') throw new SignInFailedError('the ID token has no subject');
  if (typeof email !== 'string' || !email.includes('@')) {
    throw new SignInFailedError(nativeAccount ? "the native account's username is no email address" : 'the ID token has no email address');
  }
  // Where the token says, the address must be verified: else anyone who can set their own
  // address at the IdP could claim another's mailbox. Cognito sends federated users' flag as a string.
  const verified = claims.email_verified;
  if (verified === false || verified === 'false') throw new SignInFailedError('the ID token says the email address is not verified');
  const directoryId = claims[DIRECTORY_ID_CLAIM];
  const groups = claims['cognito:groups'];
  const name = typeof claims.name === 'string' && claims.name.trim() !== '' ? claims.name.trim() : email;
  return {
    subject,
    email: normalizeAddress(email),
    name,
    groups: Array.isArray(groups) ? groups.filter((group): group is string => typeof group === 'string') : [],
    ...(typeof directoryId === 'string' && directoryId.trim() !== '' && { directoryId: directoryId.trim() }),
    ...(nativeAccount && { nativeAccount: true }),
  };
}
