// Ports of the directory: where users come from (AD over LDAP, a CSV file) and where
// the synced directory lives (the address map plus one item per user), which is also
// what the webmail asks who may sign in and what ingest asks where mail goes.
import type { AddressAssignment, DirectoryUser } from '../core/model.ts';

export interface DirectoryReadResult {
  /** Every user of the source, in normal form (makeDirectoryUser). */
  users: DirectoryUser[];
  /** Entries left out, with why ("CN=Printer: no SMTP address"). */
  warnings: string[];
  /**
   * Users kept with one value left out, with why ("alice@corp.example: the mobile number
   * is a landline …"); never the value itself when it is a phone number.
   */
  valueWarnings?: string[];
  /**
   * How the source names each user (by id), for reports that must point at the account
   * to fix: its DN in AD. Users without an entry are named by their mailbox.
   */
  names?: ReadonlyMap<string, string>;
}

export interface DirectorySource {
  /** Where the users come from, for messages: `ldaps://dc1.corp.example:636 (DC=corp,DC=example)`. */
  readonly description: string;
  /**
   * The complete list, read before anything is written. Throws DirectoryError
   * (DIRECTORY_BIND, DIRECTORY_UNREACHABLE, DIRECTORY_TLS, DIRECTORY_SOURCE) or
   * InvalidInputError (a malformed CSV row, naming its line).
   */
  readAll(): Promise<DirectoryReadResult>;
}

export interface DirectoryState {
  /** Every user the last runs wrote. */
  users: DirectoryUser[];
  /** A run started writing and never finished: its address items may be off. */
  interrupted: boolean;
}

export interface DirectoryStore {
  readState(): Promise<DirectoryState>;

  /**
   * Takes the sync lease for `leaseMs` (one run at a time). Throws DirectoryError
   * DIRECTORY_BUSY while another owner holds an unexpired lease.
   */
  beginSync(owner: string, now: Date, leaseMs: number): Promise<{ interrupted: boolean }>;
  /** Records that the owner is about to write (cleared by finishSync only). */
  markWriting(owner: string): Promise<void>;
  /** Clears the writing mark and the lease. */
  finishSync(owner: string, now: Date): Promise<void>;
  /** Frees the lease and keeps the writing mark as it is (a failed run). */
  releaseSync(owner: string): Promise<void>;

  /** Address items (`ADDR#<address>`) pointing to their mailbox; what ingest's mailboxFor reads. */
  putAddresses(entries: readonly AddressAssignment[]): Promise<void>;
  deleteAddresses(addresses: readonly string[]): Promise<void>;
  /** User items, keyed by mailbox. */
  putUsers(users: readonly DirectoryUser[]): Promise<void>;
  deleteUsers(mailboxes: readonly string[]): Promise<void>;

  /**
   * The directory user that `address` (any of their addresses, any case) belongs
   * to, or null when the directory does not know it. Disabled and shared users are
   * returned too: callers decide with canSignIn (core/directory.ts).
   */
  userForAddress(address: string): Promise<DirectoryUser | null>;

  /**
   * A sync or import has finished at least once. From then on the directory is the
   * list of who may sign in: an address it does not know is refused.
   */
  hasSynced(): Promise<boolean>;
}

/** What the webmail and sign-in need: who an address belongs to (with canSignIn), and whether the directory is in force. */
export type DirectoryLookup = Pick<DirectoryStore, 'userForAddress' | 'hasSynced'>;
