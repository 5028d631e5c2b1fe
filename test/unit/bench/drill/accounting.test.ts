// The continuity drill's verdict (bench/drill/accounting.ts): a message accepted with
// 250 but missing for one envelope recipient is a loss; a second copy of the same stored
// message is allowed only with a kill or primary stop between the copies; a second
// stored copy needs an ambiguous try of the sender to explain it. Also how the drill
// reads a delivered Maildir file's top header block (bench/drill/maildir-scan.ts).
import { describe, expect, it } from 'vitest';
import { type AcceptedMessage, accountDeliveries, type DeliveredCopy, type Interruptions } from '../../../../bench/drill/accounting.ts';
import { parseDeliveredHead } from '../../../../bench/drill/maildir-scan.ts';

const T0 = Date.parse('2030-03-01T10:00:00Z');
const NONE: Interruptions = { atMs: [], slackMs: 10_000 };

function message(drillId: string, recipients: string[], queueIds = [`q-${drillId}`], ambiguousTries = 0): AcceptedMessage {
  return { drillId, messageId: `${drillId}@drill.test`, recipients, queueIds, ambiguousTries };
}

function copy(drillId: string, recipient: string, queueId: string | null = `q-${drillId}`, atSeconds = 0): DeliveredCopy {
  return { drillId, recipient, queueId, file: `/maildir/${drillId}/${recipient}/${atSeconds}`, deliveredAtMs: T0 + atSeconds * 1000 };
}

describe('accountDeliveries', () => {
  it('finds nothing wrong when every envelope recipient (alias and Bcc included) has its copy', () => {
    // Prepare
    const accepted = [message('m1', ['alice@corp.test', 'info@corp.test', 'user03@corp.test']), message('m2', ['Bob@Corp.test'])];
    const delivered = [
      copy('m1', 'alice@corp.test'),
      copy('m1', 'info@corp.test'),
      copy('m1', 'user03@corp.test'),
      copy('m2', 'bob@corp.test'),
    ];

    // Act
    const result = accountDeliveries(accepted, delivered, NONE);

    // Assess
    expect(result).toMatchObject({
      messagesAccepted: 2,
      recipientsExpected: 4,
      recipientsDelivered: 4,
      messagesDelivered: 2,
      lost: [],
      relayDuplicates: [],
      senderDuplicates: [],
      unexplained: [],
    });
  });

  it('reports a loss, with the message and the recipient that has no copy', () => {
    // Prepare: m1's Bcc recipient never got it
    const accepted = [message('m1', ['alice@corp.test', 'user05@corp.test']), message('m2', ['bob@corp.test'])];
    const delivered = [copy('m1', 'alice@corp.test'), copy('m2', 'bob@corp.test')];

    // Act
    const result = accountDeliveries(accepted, delivered, NONE);

    // Assess
    expect(result.lost).toEqual([{ drillId: 'm1', messageId: 'm1@drill.test', recipients: ['user05@corp.test'], queueIds: ['q-m1'] }]);
    expect(result.recipientsDelivered).toBe(2);
    expect(result.messagesDelivered).toBe(1);
  });

  it('owes nothing for a message the sender never got a 250 for', () => {
    // Prepare
    const accepted = [message('m1', ['alice@corp.test'], [])];

    // Act
    const result = accountDeliveries(accepted, [], NONE);

    // Assess
    expect(result).toMatchObject({ messagesAccepted: 0, recipientsExpected: 0, lost: [] });
  });

  it('explains a relay duplicate by a kill between its copies, and only then', () => {
    // Prepare: the same stored message twice for alice (copies at 5 s and 9 s) and for bob (20 s and 60 s)
    const accepted = [message('m1', ['alice@corp.test']), message('m2', ['bob@corp.test'])];
    const delivered = [
      copy('m1', 'alice@corp.test', 'q-m1', 5),
      copy('m1', 'alice@corp.test', 'q-m1', 9),
      copy('m2', 'bob@corp.test', 'q-m2', 20),
      copy('m2', 'bob@corp.test', 'q-m2', 60),
    ];
    const killAt = T0 + 6_000;

    // Act
    const result = accountDeliveries(accepted, delivered, { atMs: [killAt], slackMs: 2_000 });

    // Assess
    expect(result.lost).toEqual([]);
    expect(result.relayDuplicateMessages).toBe(2);
    expect(result.relayDuplicates).toEqual([
      { drillId: 'm1', recipient: 'alice@corp.test', queueId: 'q-m1', copies: 2, explainedBy: killAt },
      { drillId: 'm2', recipient: 'bob@corp.test', queueId: 'q-m2', copies: 2, explainedBy: null },
    ]);
    expect(result.unexplainedRelayDuplicates.map((duplicate) => duplicate.drillId)).toEqual(['m2']);
  });

  it("takes a second stored copy as the sender's re-send when a try went unanswered, and flags it otherwise", () => {
    // Prepare: the sender saw q-a (after an ambiguous first try that shadowmail had taken as q-x); m2 the same without an ambiguous try
    const accepted = [message('m1', ['alice@corp.test'], ['q-a'], 1), message('m2', ['bob@corp.test'], ['q-b'], 0)];
    const delivered = [
      copy('m1', 'alice@corp.test', 'q-x'),
      copy('m1', 'alice@corp.test', 'q-a'),
      copy('m2', 'bob@corp.test', 'q-y'),
      copy('m2', 'bob@corp.test', 'q-b'),
    ];

    // Act
    const result = accountDeliveries(accepted, delivered, NONE);

    // Assess
    expect(result.senderDuplicateMessages).toBe(2);
    expect(result.relayDuplicates).toEqual([]);
    expect(result.unexplained).toEqual([expect.objectContaining({ drillId: 'm2', queueId: 'q-y' })]);
  });

  it('flags copies of unknown messages and of recipients the message did not have', () => {
    // Prepare
    const accepted = [message('m1', ['alice@corp.test'])];
    const delivered = [copy('m1', 'alice@corp.test'), copy('m1', 'bob@corp.test'), copy('zz', 'alice@corp.test')];

    // Act
    const result = accountDeliveries(accepted, delivered, NONE);

    // Assess
    expect(result.unexplained.map((entry) => [entry.drillId, entry.recipient])).toEqual([
      ['m1', 'bob@corp.test'],
      ['zz', 'alice@corp.test'],
    ]);
    expect(result.lost).toEqual([]);
  });
});

describe('parseDeliveredHead', () => {
  const postfixTrace = [
    'Return-Path: <partner3@elsewhere.test>',
    'X-Original-To: info@corp.test',
    'Delivered-To: alice@corp.test',
    'Received: from [127.0.0.1] (localhost [127.0.0.1])',
    '\tby primary-1.corp.test (Postfix) with ESMTP id 611CE21A954',
    '\tfor <info@corp.test>; Sat, 28 Nov 2026 04:23:50 +0000 (UTC)',
    'X-Shadowmail-Forwarded: shadowmail; id=e7o7gk4vhqcso75hqd6lsh2issxwcegop5fjz27y; Sat, 28 Nov 2026 04:23:50 GMT',
  ];

  it("reads the drill id, the envelope recipient before alias expansion and shadowmail's queue id", () => {
    // Prepare
    const head = [...postfixTrace, 'X-Drill-Id: d7-00012', 'Subject: hello', '', 'X-Drill-Id: not-this-one', ''].join('\n');

    // Act
    const parsed = parseDeliveredHead(head);

    // Assess
    expect(parsed).toEqual({ drillId: 'd7-00012', recipient: 'info@corp.test', queueId: 'e7o7gk4vhqcso75hqd6lsh2issxwcegop5fjz27y' });
  });

  it("keeps only the id when the stamped message's own first line is indented (and so folds into it)", () => {
    // Prepare: a corpus message that starts with " From: ..." after the drill's header
    const head = [...postfixTrace, 'X-Drill-Id: d7-00425', ' From: James <james@example.test>', 'Subject: x', '', 'body'].join('\n');

    // Act
    const parsed = parseDeliveredHead(head);

    // Assess
    expect(parsed?.drillId).toBe('d7-00425');
  });

  it('ignores mail without a drill id in its top header block (a bounce quoting one in its body)', () => {
    // Prepare
    const head = [
      'Return-Path: <>',
      'X-Original-To: alice@corp.test',
      'Subject: Undelivered Mail Returned to Sender',
      '',
      'X-Drill-Id: d7-00001',
      '',
    ].join('\n');

    // Act
    const parsed = parseDeliveredHead(head);

    // Assess
    expect(parsed).toBeNull();
  });
});
