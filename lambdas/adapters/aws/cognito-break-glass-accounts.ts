// The break-glass accounts in the webmail's Cognito user pool. What Cognito does with
// each call (API reference, https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/):
// - ListUsers: at most 60 users a page (Limit), the rest behind PaginationToken; eventually
//   consistent. Federated users (AD FS, Entra ID) are listed too, with UserStatus
//   EXTERNAL_PROVIDER: they are left out here and never touched.
// - AdminCreateUser with MessageAction SUPPRESS sends no invitation. Without
//   TemporaryPassword Cognito generates one, or none when passwordless sign-in is active;
//   either way the account may start in FORCE_CHANGE_PASSWORD.
// - AdminSetUserPassword with Permanent=true sets the status to CONFIRMED. The password is
//   random, never stored or shown: nobody can sign in with it, and the account takes the
//   SMS code (a first factor Cognito offers confirmed users; docs/deploy.md §8.5).
// - email_verified / phone_number_verified = true: the webmail requires a verified address,
//   and Cognito sends codes only to a verified number.
// - AdminDeleteUser of a user that is gone answers UserNotFoundException: counted as deleted.
import { randomBytes } from 'node:crypto';
import {
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminDisableUserCommand,
  AdminEnableUserCommand,
  AdminSetUserPasswordCommand,
  AdminUpdateUserAttributesCommand,
  type AttributeType,
  type CognitoIdentityProviderClient,
  ListUsersCommand,
  type UserType,
} from '@aws-sdk/client-cognito-identity-provider';
import { DIRECTORY_ID_CLAIM } from '../../contract/sign-in.ts';
import type { BreakGlassAccount, BreakGlassAccountAttributes, BreakGlassAccounts } from '../../ports/break-glass-accounts.ts';

/** ListUsers' largest page. */
export const LIST_USERS_PAGE = 60;
/** Pages one list may read: 60 000 accounts, far beyond any site we serve; a bound against a token that never ends. */
const MAX_PAGES = 1000;

export class CognitoBreakGlassAccounts implements BreakGlassAccounts {
  readonly description: string;

  constructor(
    private readonly client: CognitoIdentityProviderClient,
    private readonly userPoolId: string,
    region: string,
  ) {
    this.description = `user pool ${userPoolId} (${region})`;
  }

  async list(): Promise<BreakGlassAccount[]> {
    const accounts: BreakGlassAccount[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const answer = await this.client.send(
        new ListUsersCommand({
          UserPoolId: this.userPoolId,
          Limit: LIST_USERS_PAGE,
          ...(token !== undefined && { PaginationToken: token }),
        }),
      );
      for (const user of answer.Users ?? []) {
        if (user.UserStatus !== 'EXTERNAL_PROVIDER' && user.Username) accounts.push(accountOf(user));
      }
      token = answer.PaginationToken || undefined;
      if (token === undefined) return accounts;
    }
    throw new Error(`ListUsers of ${this.description} did not end after ${MAX_PAGES} pages`);
  }

  async create(username: string, attributes: BreakGlassAccountAttributes): Promise<void> {
    await this.client.send(
      new AdminCreateUserCommand({
        UserPoolId: this.userPoolId,
        Username: username,
        MessageAction: 'SUPPRESS',
        UserAttributes: cognitoAttributes(attributes),
      }),
    );
    await this.confirm(username);
  }

  async confirm(username: string): Promise<void> {
    await this.client.send(
      new AdminSetUserPasswordCommand({ UserPoolId: this.userPoolId, Username: username, Password: unusablePassword(), Permanent: true }),
    );
  }

  async update(username: string, attributes: BreakGlassAccountAttributes): Promise<void> {
    await this.client.send(
      new AdminUpdateUserAttributesCommand({
        UserPoolId: this.userPoolId,
        Username: username,
        UserAttributes: cognitoAttributes(attributes),
      }),
    );
  }

  async setEnabled(username: string, enabled: boolean): Promise<void> {
    const input = { UserPoolId: this.userPoolId, Username: username };
    await this.client.send(enabled ? new AdminEnableUserCommand(input) : new AdminDisableUserCommand(input));
  }

  async delete(username: string): Promise<void> {
    try {
      await this.client.send(new AdminDeleteUserCommand({ UserPoolId: this.userPoolId, Username: username }));
    } catch (error) {
      if ((error as { name?: string }).name !== 'UserNotFoundException') throw error;
    }
  }
}

function cognitoAttributes(attributes: BreakGlassAccountAttributes): AttributeType[] {
  return [
    { Name: 'email', Value: attributes.email },
    { Name: 'email_verified', Value: 'true' },
    { Name: 'phone_number', Value: attributes.phoneNumber },
    { Name: 'phone_number_verified', Value: 'true' },
    { Name: 'name', Value: attributes.name },
    { Name: DIRECTORY_ID_CLAIM, Value: attributes.directoryId },
  ];
}

function accountOf(user: UserType): BreakGlassAccount {
  const value = (name: string): string | null => user.Attributes?.find((attribute) => attribute.Name === name)?.Value ?? null;
  return {
    username: user.Username!,
    directoryId: value(DIRECTORY_ID_CLAIM) || null,
    email: value('email'),
    emailVerified: value('email_verified') === 'true',
    phoneNumber: value('phone_number'),
    phoneNumberVerified: value('phone_number_verified') === 'true',
    name: value('name'),
    enabled: user.Enabled !== false,
    confirmed: user.UserStatus === 'CONFIRMED',
  };
}

/**
 * 64 random characters plus one of each class the pool's password policy can demand
 * (lower, upper, digit, symbol): a password that satisfies any policy up to 68
 * characters, that nobody knows, and that is dropped once sent.
 */
function unusablePassword(): string {
  return `${randomBytes(48).toString('base64url')}aA1!`;
}
