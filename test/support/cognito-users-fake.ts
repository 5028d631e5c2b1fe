// The user calls of Cognito's API (JSON 1.1) as the directory sync makes them, for the
// fake AWS server (doctor-aws-fakes.ts routes them here): users kept per pool with
// Cognito's rules as documented — ListUsers pages of at most 60 behind an opaque token,
// usernames unique regardless of case (signInCaseSensitive false), AdminCreateUser
// starting in FORCE_CHANGE_PASSWORD, AdminSetUserPassword Permanent=true confirming and
// holding the pool's password policy, E.164 phone numbers, UserNotFoundException.
import { randomUUID } from 'node:crypto';

export interface FakeCognitoUser {
  Username: string;
  Attributes: Record<string, string>;
  Enabled: boolean;
  UserStatus: 'FORCE_CHANGE_PASSWORD' | 'CONFIRMED' | 'EXTERNAL_PROVIDER' | 'UNCONFIRMED';
  /** Set by AdminSetUserPassword (the test checks nobody could know it, not its value). */
  passwordSet: boolean;
  /** What AdminCreateUser was asked to do about the invitation. */
  messageAction?: string;
}

export interface CognitoUsersFake {
  /** Pool id → users by lower-cased username. */
  pools: Map<string, Map<string, FakeCognitoUser>>;
  /** Declares a pool (calls for any other pool id go on to doctor-aws-fakes.ts's break-glass admin block). */
  addPool(userPoolId: string): Map<string, FakeCognitoUser>;
  /** A call with this action and username answers this error once (then it is removed). */
  failNext: Map<string, { type: string; message: string }>;
  /** The answer to a user call, or null when the action is not one of them. */
  handle(action: string, params: Record<string, unknown>): { status: number; body: Record<string, unknown> } | null;
}

const ACTIONS = new Set([
  'ListUsers',
  'AdminCreateUser',
  'AdminSetUserPassword',
  'AdminUpdateUserAttributes',
  'AdminEnableUser',
  'AdminDisableUser',
  'AdminDeleteUser',
]);

/** The pool's policy as lib/constructs/webmail.ts sets it. */
function passwordProblem(password: string): string | null {
  if (password.length < 14 || password.length > 256) return 'Password did not conform with policy: Password not long enough';
  if (!/[a-z]/.test(password)) return 'Password did not conform with policy: Password must have lowercase characters';
  if (!/[A-Z]/.test(password)) return 'Password did not conform with policy: Password must have uppercase characters';
  if (!/\d/.test(password)) return 'Password did not conform with policy: Password must have numeric characters';
  if (!/[\^$*.[\]{}()?"!@#%&/\\,><':;|_~`=+-]/.test(password))
    return 'Password did not conform with policy: Password must have symbol characters';
  return null;
}

export function createCognitoUsersFake(): CognitoUsersFake {
  const pools = new Map<string, Map<string, FakeCognitoUser>>();
  const failNext = new Map<string, { type: string; message: string }>();
  const tokens = new Map<string, number>();

  function handle(action: string, params: Record<string, unknown>): { status: number; body: Record<string, unknown> } | null {
    if (!ACTIONS.has(action)) return null;
    const error = (type: string, message: string) => ({ status: 400, body: { __type: type, message } });
    const pool = pools.get(String(params.UserPoolId));
    // A pool not declared here is the break-glass admins' (doctor-aws-fakes.ts poolUsers), or none.
    if (!pool) return null;
    const username = String(params.Username ?? '');
    const injected = failNext.get(`${action} ${username}`);
    if (injected) {
      failNext.delete(`${action} ${username}`);
      return error(injected.type, injected.message);
    }
    const key = username.toLowerCase();
    const user = pool.get(key);
    const notFound = () => error('UserNotFoundException', 'User does not exist.');
    const attributesOf = (list: unknown) =>
      Object.fromEntries((list as Array<{ Name: string; Value: string }>).map((a) => [a.Name, a.Value]));
    const phoneProblem = (attributes: Record<string, string>) =>
      attributes.phone_number !== undefined && !/^\+\d{4,15}$/.test(attributes.phone_number)
        ? error('InvalidParameterException', 'Invalid phone number format.')
        : null;

    switch (action) {
      case 'ListUsers': {
        const limit = Number(params.Limit ?? 60);
        if (!Number.isInteger(limit) || limit < 1 || limit > 60) {
          return error(
            'InvalidParameterException',
            "1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value less than or equal to 60",
          );
        }
        let start = 0;
        if (params.PaginationToken !== undefined) {
          const position = tokens.get(String(params.PaginationToken));
          if (position === undefined) return error('InvalidParameterException', 'Invalid pagination token.');
          start = position;
        }
        const all = [...pool.values()];
        const page = all.slice(start, start + limit);
        let next: string | undefined;
        if (start + limit < all.length) {
          next = randomUUID();
          tokens.set(next, start + limit);
        }
        return {
          status: 200,
          body: {
            Users: page.map((u) => ({
              Username: u.Username,
              Attributes: Object.entries(u.Attributes).map(([Name, Value]) => ({ Name, Value })),
              Enabled: u.Enabled,
              UserStatus: u.UserStatus,
              UserCreateDate: 1_900_000_000,
              UserLastModifiedDate: 1_900_000_000,
            })),
            ...(next && { PaginationToken: next }),
          },
        };
      }
      case 'AdminCreateUser': {
        if (user) return error('UsernameExistsException', 'User account already exists.');
        const attributes = attributesOf(params.UserAttributes ?? []);
        const problem = phoneProblem(attributes);
        if (problem) return problem;
        const created: FakeCognitoUser = {
          Username: username,
          Attributes: { sub: randomUUID(), ...attributes },
          Enabled: true,
          UserStatus: 'FORCE_CHANGE_PASSWORD',
          passwordSet: false,
          ...(params.MessageAction !== undefined && { messageAction: String(params.MessageAction) }),
        };
        pool.set(key, created);
        return { status: 200, body: { User: { Username: username, Enabled: true, UserStatus: created.UserStatus } } };
      }
      case 'AdminSetUserPassword': {
        if (!user) return notFound();
        const problem = passwordProblem(String(params.Password ?? ''));
        if (problem) return error('InvalidPasswordException', problem);
        user.passwordSet = true;
        user.UserStatus = params.Permanent === true ? 'CONFIRMED' : 'FORCE_CHANGE_PASSWORD';
        return { status: 200, body: {} };
      }
      case 'AdminUpdateUserAttributes': {
        if (!user) return notFound();
        const attributes = attributesOf(params.UserAttributes ?? []);
        const problem = phoneProblem(attributes);
        if (problem) return problem;
        Object.assign(user.Attributes, attributes);
        return { status: 200, body: {} };
      }
      case 'AdminEnableUser':
      case 'AdminDisableUser':
        if (!user) return notFound();
        user.Enabled = action === 'AdminEnableUser';
        return { status: 200, body: {} };
      case 'AdminDeleteUser':
        if (!user) return notFound();
        pool.delete(key);
        return { status: 200, body: {} };
      default:
        return null;
    }
  }

  return {
    pools,
    failNext,
    addPool(userPoolId) {
      const pool = new Map<string, FakeCognitoUser>();
      pools.set(userPoolId, pool);
      return pool;
    },
    handle,
  };
}
