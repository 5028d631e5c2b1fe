// Port: the break-glass accounts — the user pool's own (native) accounts that staff sign
// in to with an SMS code when AD FS is down with Exchange (Cognito in AWS). The directory
// sync keeps them in step with the directory (core/break-glass-accounts.ts). Federated
// users (AD FS, Entra ID) are not accounts of this port: it never lists or changes them.

/** The values the sync sets on an account; the username is the work address it was created with. */
export interface BreakGlassAccountAttributes {
  /** The work address (comparison form): what the token's `email` maps to a mailbox by. Always marked verified. */
  email: string;
  /** E.164; where Cognito sends the code. Always marked verified. */
  phoneNumber: string;
  name: string;
  /** The directory's stable id (contract/sign-in.ts DIRECTORY_ID_CLAIM): marks the account as the sync's own. */
  directoryId: string;
}

export interface BreakGlassAccount {
  username: string;
  /** Absent on accounts the sync did not create (the break-glass admins, accounts made by hand): never touched. */
  directoryId: string | null;
  email: string | null;
  emailVerified: boolean;
  phoneNumber: string | null;
  phoneNumberVerified: boolean;
  name: string | null;
  enabled: boolean;
  /** Signs in without a password step (Cognito: CONFIRMED); false when a run stopped between creating and confirming. */
  confirmed: boolean;
}

export interface BreakGlassAccounts {
  /** Where the accounts live, for messages: `user pool eu-central-1_AbC (eu-central-1)`. */
  readonly description: string;
  /** Every native account of the pool, all pages. */
  list(): Promise<BreakGlassAccount[]>;
  /** A new account, enabled and confirmed, with no invitation sent and no password anyone knows. */
  create(username: string, attributes: BreakGlassAccountAttributes): Promise<void>;
  /** Confirms an account a run created but did not get to confirm. */
  confirm(username: string): Promise<void>;
  update(username: string, attributes: BreakGlassAccountAttributes): Promise<void>;
  setEnabled(username: string, enabled: boolean): Promise<void>;
  /** Deletes the account; one that is gone already counts as deleted. */
  delete(username: string): Promise<void>;
}
