// In-memory SessionStore: the reference the DynamoDB adapter's contract test is held to.
import type { SessionStore, StoredSession } from '../../lambdas/ports/session-store.ts';

export class MemorySessionStore implements SessionStore {
  readonly sessions = new Map<string, StoredSession>();
  reads = 0;

  async create(session: StoredSession): Promise<void> {
    if (this.sessions.has(session.id)) throw new Error(`session ${session.id} exists`);
    this.sessions.set(session.id, { ...session });
  }

  async get(id: string, now: Date): Promise<StoredSession | null> {
    this.reads += 1;
    const session = this.sessions.get(id);
    if (!session || session.expiresAt <= now.getTime() / 1000) return null;
    return { ...session };
  }

  async signOut(id: string): Promise<void> {
    const session = this.sessions.get(id);
    if (session) session.signedOut = true;
  }
}
