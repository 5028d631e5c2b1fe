// The SES receipt notification's authentication verdicts (receipt.spfVerdict, dkimVerdict,
// dmarcVerdict: https://docs.aws.amazon.com/ses/latest/dg/receiving-email-notifications-contents.html)
// as ingest reads them, and the same fields in the notification local mode builds.
import { describe, expect, it } from 'vitest';
import {
  buildReceiptNotification,
  type LocalReceipt,
  parseIngestRecordBody,
  wrapInSnsEnvelope,
} from '../../../../lambdas/handlers/ses-receipt-event.ts';

/** A notification as SES publishes it (the documentation's example, with our verdicts). */
function sesNotification(receipt: Record<string, unknown>): string {
  return JSON.stringify({
    Type: 'Notification',
    Message: JSON.stringify({
      notificationType: 'Received',
      mail: { timestamp: '2026-11-20T10:00:00.000Z', source: 'billing@partner.test', messageId: 'o3vrnil0e2ic28trm7dfhrc2v0bnkqiu' },
      receipt: {
        timestamp: '2026-11-20T10:00:00.000Z',
        processingTimeMillis: 574,
        recipients: ['alice@corp.test'],
        spamVerdict: { status: 'PASS' },
        virusVerdict: { status: 'PASS' },
        action: { type: 'S3', bucketName: 'raw', objectKey: 'raw/o3vrnil0e2ic28trm7dfhrc2v0bnkqiu' },
        ...receipt,
      },
    }),
  });
}

describe('SES verdict mapping', () => {
  it('reads receipt.spfVerdict, dkimVerdict and dmarcVerdict (dmarcPolicy, present on a DMARC failure, is not needed)', () => {
    const mail = parseIngestRecordBody(
      sesNotification({
        spfVerdict: { status: 'FAIL' },
        dkimVerdict: { status: 'PASS' },
        dmarcVerdict: { status: 'FAIL' },
        dmarcPolicy: 'reject',
      }),
    );
    expect(mail.verdicts).toEqual({ spam: 'PASS', virus: 'PASS', spf: 'FAIL', dkim: 'PASS', dmarc: 'FAIL' });
  });

  it('keeps GRAY and PROCESSING_FAILED, reads any case, and takes a missing verdict as DISABLED and an unknown one as GRAY', () => {
    const mail = parseIngestRecordBody(sesNotification({ spfVerdict: { status: 'gray' }, dkimVerdict: { status: 'PROCESSING_FAILED' } }));
    expect(mail.verdicts).toMatchObject({ spf: 'GRAY', dkim: 'PROCESSING_FAILED', dmarc: 'DISABLED' });
    const odd = parseIngestRecordBody(sesNotification({ dmarcVerdict: { status: 'SOMETHING_NEW' } }));
    expect(odd.verdicts.dmarc).toBe('GRAY');
  });
});

describe('local notification', () => {
  const receipt: LocalReceipt = {
    sesMessageId: 'abcdefghijklmnopqrstuvwxyz234567abcdefgh',
    receivedAt: new Date('2026-11-20T10:00:00Z'),
    envelopeFrom: 'billing@partner.test',
    envelopeRecipients: ['alice@corp.test'],
    bucket: 'inbound',
    key: 'abcdefghijklmnopqrstuvwxyz234567abcdefgh',
    headers: [],
    commonHeaders: {},
  };

  it('carries the authenticator verdicts in the fields SES uses, and ingest reads them back', () => {
    const notification = buildReceiptNotification({ ...receipt, authentication: { spf: 'PASS', dkim: 'GRAY', dmarc: 'FAIL' } });
    expect(notification.receipt).toMatchObject({
      spfVerdict: { status: 'PASS' },
      dkimVerdict: { status: 'GRAY' },
      dmarcVerdict: { status: 'FAIL' },
    });
    const mail = parseIngestRecordBody(wrapInSnsEnvelope(notification, receipt.sesMessageId));
    expect(mail.verdicts).toEqual({ spam: 'DISABLED', virus: 'DISABLED', spf: 'PASS', dkim: 'GRAY', dmarc: 'FAIL' });
  });

  it('says DISABLED when no authenticator ran', () => {
    const mail = parseIngestRecordBody(wrapInSnsEnvelope(buildReceiptNotification(receipt), receipt.sesMessageId));
    expect(mail.verdicts).toMatchObject({ spf: 'DISABLED', dkim: 'DISABLED', dmarc: 'DISABLED' });
  });
});
