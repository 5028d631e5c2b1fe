// Local mode's break-glass admin accounts — the stand-in for the Cognito native users
// with password + TOTP that AWS has: independent of the IdP (AD FS), so an admin can
// sign in and switch failover on while AD FS is down. One 0600 JSON file under the data
// directory, written by `shadowmail breakglass admin-setup` and read on every sign-in
// (an enrolment takes effect without a restart).
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { isMailAddress, normalizeAddress } from '../../core/addresses.ts';
import { InvalidInputError } from '../../core/errors.ts';
import type { Clock } from '../../ports/clock.ts';
import { DUMMY_HASH, hashPassword, verifyPassword } from './scrypt-password.ts';

/** RFC 6238 defaults, which authenticator apps (and Cognito's TOTP MFA) use: SHA-1, 6 digits, 30 s. */
const TOTP_PERIOD = 30;
const TOTP_DIGITS = 6;
/** One step either side: the phone's clock may be a little off. */
const TOTP_WINDOW = 1;
/** Failed sign-ins (either factor) after which the account waits LOCKOUT_MS: no guessing the 6 digits. */
export const MAX_FAILED_ADMIN_SIGN_INS = 5;
export const ADMIN_LOCKOUT_MS = 15 * 60_000;

interface StoredAdmin {
  username: string;
  passwordHash: string;
  /** Base32. */
  totpSecret: string;
  /** The last TOTP time step used: a code (and any older one) works once. */
  lastStep: number | null;
}

interface AdminFile {
  version: 1;
  admins: StoredAdmin[];
}

export interface Enrolment {
  username: string;
  /** Shown once; only its hash is kept. */
  password: string;
  /** otpauth://totp/… for an authenticator app (as a QR code or typed in). */
  otpauthUri: string;
}

export type AdminCheck = { ok: true; username: string } | { ok: false; reason: 'unknown-or-wrong' | 'locked' };

export class BreakGlassAdminStore {
  private writing: Promise<void> = Promise.resolve();
  private readonly failures = new Map<string, { count: number; lockedUntil: number }>();

  constructor(
    readonly file: string,
    private readonly clock: Clock,
  ) {}

  /** Creates the account or replaces its password and TOTP secret (a lost phone, a leaked password). */
  async enroll(username: string): Promise<Enrolment> {
    const name = checkedUsername(username);
    const password = randomBytes(18).toString('base64url');
    const secret = new Secret({ size: 20 });
    const admin: StoredAdmin = { username: name, passwordHash: await hashPassword(password), totpSecret: secret.base32, lastStep: null };
    await this.update((admins) => [...admins.filter((other) => other.username !== name), admin]);
    return { username: name, password, otpauthUri: totpOf(admin).toString() };
  }

  async list(): Promise<string[]> {
    return (await this.read()).map((admin) => admin.username);
  }

  /**
   * Both factors, always: the password and a current TOTP code not used before. The
   * answer does not say which factor was wrong, or whether the account exists.
   */
  async authenticate(username: string, password: string, code: string): Promise<AdminCheck> {
    const name = normalizeAddress(username);
    const now = this.clock.now().getTime();
    const failed = this.failures.get(name);
    if (failed && failed.lockedUntil > now) return { ok: false, reason: 'locked' };
    const admin = (await this.read()).find((candidate) => candidate.username === name);
    // Hash even for an unknown account so the answer time does not reveal who exists.
    const passwordOk = await verifyPassword(password, admin?.passwordHash ?? DUMMY_HASH);
    const step = admin && passwordOk ? this.currentStep(admin, code.trim(), now) : null;
    if (!admin || step === null || (admin.lastStep !== null && step <= admin.lastStep)) {
      const count = (failed?.count ?? 0) + 1;
      // Made-up names each leave an entry: keep the map small by forgetting the unlocked ones.
      if (this.failures.size >= 1000) for (const [key, entry] of this.failures) if (entry.lockedUntil <= now) this.failures.delete(key);
      this.failures.set(name, {
        count: count >= MAX_FAILED_ADMIN_SIGN_INS ? 0 : count,
        lockedUntil: count >= MAX_FAILED_ADMIN_SIGN_INS ? now + ADMIN_LOCKOUT_MS : 0,
      });
      return { ok: false, reason: 'unknown-or-wrong' };
    }
    // Recorded before the answer, so the same code cannot be replayed by a second request.
    let replayed = false;
    await this.update((admins) =>
      admins.map((other) => {
        if (other.username !== name) return other;
        if (other.lastStep !== null && step <= other.lastStep) replayed = true;
        return replayed ? other : { ...other, lastStep: step };
      }),
    );
    if (replayed) return { ok: false, reason: 'unknown-or-wrong' };
    this.failures.delete(name);
    return { ok: true, username: name };
  }

  /** The time step the code belongs to (now ± the window), or null. */
  private currentStep(admin: StoredAdmin, code: string, now: number): number | null {
    if (!/^\d{6}$/.test(code)) return null;
    const delta = totpOf(admin).validate({ token: code, timestamp: now, window: TOTP_WINDOW });
    return delta === null ? null : Math.floor(now / 1000 / TOTP_PERIOD) + delta;
  }

  private async read(): Promise<StoredAdmin[]> {
    await this.writing;
    try {
      return parseAdmins(JSON.parse(await readFile(this.file, 'utf8')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new InvalidInputError(`the break-glass admin file ${this.file} is not valid: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Read-modify-write, serialized in this process, each write a whole-file rename (0600). */
  private update(change: (admins: StoredAdmin[]) => StoredAdmin[]): Promise<void> {
    const next = this.writing.then(async () => {
      let admins: StoredAdmin[] = [];
      try {
        admins = parseAdmins(JSON.parse(await readFile(this.file, 'utf8')));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      await mkdir(dirname(this.file), { recursive: true });
      const temporary = `${this.file}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify({ version: 1, admins: change(admins) } satisfies AdminFile, null, 2)}\n`, {
        mode: 0o600,
      });
      await rename(temporary, this.file);
    });
    this.writing = next.catch(() => undefined);
    return next;
  }
}

function totpOf(admin: Pick<StoredAdmin, 'username' | 'totpSecret'>): TOTP {
  return new TOTP({
    issuer: 'shadowmail (local)',
    label: admin.username,
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD,
    secret: Secret.fromBase32(admin.totpSecret),
  });
}

function checkedUsername(username: string): string {
  const name = normalizeAddress(username);
  if (!isMailAddress(name)) {
    throw new InvalidInputError(
      `the admin's username is an e-mail address (as breakGlass.admins names it), not ${JSON.stringify(username)}`,
    );
  }
  return name;
}

function parseAdmins(value: unknown): StoredAdmin[] {
  const file = value as Partial<AdminFile> | null;
  if (file?.version !== 1 || !Array.isArray(file.admins)) throw new Error('expected {"version": 1, "admins": [...]}');
  return file.admins.map((admin, position) => {
    const ok =
      admin &&
      typeof admin.username === 'string' &&
      typeof admin.passwordHash === 'string' &&
      typeof admin.totpSecret === 'string' &&
      (admin.lastStep === null || Number.isInteger(admin.lastStep));
    if (!ok) throw new Error(`admin ${position} needs username, passwordHash, totpSecret and lastStep`);
    return { ...admin, username: normalizeAddress(admin.username) };
  });
}
