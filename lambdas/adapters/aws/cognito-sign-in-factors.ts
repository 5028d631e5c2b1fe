// SignInFactors on Cognito: AdminGetUser's UserMFASettingList names the MFA methods a user
// has activated (SOFTWARE_TOKEN_MFA for an authenticator app), per the API reference
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminGetUser.html.
// Needs cognito-idp:AdminGetUser on the pool (lib/constructs/sign-in-trigger.ts grants exactly that).
import { AdminGetUserCommand, type CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import type { PoolAccount, SignInFactors } from '../../ports/sign-in-factors.ts';

export const TOTP_MFA = 'SOFTWARE_TOKEN_MFA';

export class CognitoSignInFactors implements SignInFactors {
  constructor(private readonly client: CognitoIdentityProviderClient) {}

  async hasTotp(account: PoolAccount): Promise<boolean> {
    const user = await this.client.send(new AdminGetUserCommand({ UserPoolId: account.userPoolId, Username: account.username }));
    return (user.UserMFASettingList ?? []).includes(TOTP_MFA);
  }
}
