// The AdminSetupWindows contract, run against DynamoDB (dynalite and DynamoDB Local) and
// the embedded SQLite store: a window is open until its time for that admin only, in any
// case of the username, moves when opened again, and is closed once closed.
import { beforeEach, describe, expect, it } from 'vitest';
import type { AdminSetupWindows } from '../../lambdas/ports/admin-setup-windows.ts';
import { freshPerTest } from './fresh-per-test.ts';

export const NOW = new Date('2030-05-01T08:00:00.000Z');
export const UNTIL = new Date('2030-05-01T08:10:00.000Z');

export function describeAdminSetupWindowsContract(
  name: string,
  make: () => Promise<{ windows: AdminSetupWindows; cleanup?(): Promise<void> }>,
): void {
  describe(`AdminSetupWindows contract: ${name}`, () => {
    let windows: AdminSetupWindows;
    const current = freshPerTest(make);
    beforeEach(() => {
      windows = current().windows;
    });

    it('is open until its time for that admin only, in any case, and closed once closed', async () => {
      // Act
      await windows.open('IT-Admin@Corp.test', UNTIL);

      // Assess
      expect(await windows.isOpen('it-admin@corp.test', NOW)).toBe(true);
      expect(await windows.isOpen('it-admin@corp.test', UNTIL)).toBe(false);
      expect(await windows.isOpen('ceo@corp.test', NOW)).toBe(false);
      await windows.close('it-admin@corp.test');
      expect(await windows.isOpen('it-admin@corp.test', NOW)).toBe(false);
    });

    it('moves the window when it is opened again, later or earlier', async () => {
      // Prepare
      const later = new Date(UNTIL.getTime() + 600_000);
      await windows.open('it-admin@corp.test', UNTIL);

      // Act
      await windows.open('it-admin@corp.test', later);
      const extended = await windows.isOpen('it-admin@corp.test', UNTIL);
      await windows.open('IT-ADMIN@corp.test', NOW);

      // Assess
      expect(extended).toBe(true);
      expect(await windows.isOpen('it-admin@corp.test', NOW)).toBe(false);
    });

    it('closing a window that is not open changes nothing', async () => {
      // Prepare
      await windows.open('it-admin@corp.test', UNTIL);

      // Act
      await windows.close('ceo@corp.test');

      // Assess
      expect(await windows.isOpen('it-admin@corp.test', NOW)).toBe(true);
    });
  });
}
