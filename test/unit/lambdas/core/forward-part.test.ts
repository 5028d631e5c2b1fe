// The parts of a message that several receipt rules delivered: names, ownership, gates.
import { describe, expect, it } from 'vitest';
import {
  enqueueGate,
  ownedRecipients,
  partOf,
  pendingCountKey,
  recipientsOfPart,
  relayGate,
} from '../../../../lambdas/core/forward-part.ts';
import { makeState } from '../../../support/index-contract/fixtures.ts';

describe('forward parts', () => {
  it('names a recipient set whatever its order, spelling or repeats, and tells other sets apart', () => {
    // Act
    const name = partOf(['alice@corp.test', 'bob@corp.test']);
    // Assess
    expect(partOf(['<Bob@Corp.Test>', 'alice@corp.test', 'ALICE@corp.test'])).toBe(name);
    expect(partOf(['alice@corp.test'])).not.toBe(name);
    expect(partOf(['alice@corp.test', 'bob@corp.test', 'carol@corp.test'])).not.toBe(name);
    expect(name).toMatch(/^[0-9a-f]{16}$/);
  });

  it('gives a notification the recipients whose state it created, and those whose state has no owner', () => {
    // Prepare: bob's state was created by the other rule's notification, carol's before parts existed
    const mine = partOf(['alice@corp.test', 'bob@corp.test', 'carol@corp.test', 'dave@corp.test']);
    const states = [
      makeState('m1', 'alice@corp.test', { part: mine }),
      makeState('m1', 'bob@corp.test', { part: partOf(['bob@corp.test']) }),
      makeState('m1', 'carol@corp.test'),
    ];
    // Act
    const owned = ownedRecipients(mine, ['Alice@corp.test', 'bob@corp.test', 'carol@corp.test', 'dave@corp.test'], states);
    // Assess: dave has no state at all (not written yet): still owed, so kept too
    expect(owned).toEqual(['Alice@corp.test', 'carol@corp.test', 'dave@corp.test']);
  });

  it('keeps the gates and the count of jobs queued before parts, and names a part’s own', () => {
    // Prepare
    const whole = { sesMessageId: 'm1', receivedAt: '2026-11-20T10:00:00.000Z', attempt: 2 };
    const part = { ...whole, recipients: ['bob@corp.test'] };
    const name = partOf(['bob@corp.test']);
    // Act / Assess
    expect([relayGate(whole), pendingCountKey(whole)]).toEqual(['relay#m1#2', 'm1']);
    expect([relayGate(part), pendingCountKey(part)]).toEqual([`relay#m1#${name}#2`, `m1#${name}`]);
    expect(enqueueGate('m1', ['BOB@corp.test'])).toBe(`enqueue#m1#${name}`);
    expect(recipientsOfPart(part, ['alice@corp.test', 'Bob@Corp.Test'])).toEqual(['Bob@Corp.Test']);
    expect(recipientsOfPart(whole, ['alice@corp.test', 'Bob@Corp.Test'])).toEqual(['alice@corp.test', 'Bob@Corp.Test']);
  });
});
