// The keys of a draft's uploaded files: which slot and which name an S3 key stands for.
// The name is the browser's, shown on the form and sent as the file name, so it loses
// invisible formatting as every attachment name does (issue 14).
import { describe, expect, it } from 'vitest';
import { draftKeys, draftOwner, parseUploadKey } from '../../../../lambdas/core/drafts.ts';

const keys = draftKeys(draftOwner('alice@corp.test'), '01234567-89ab-4cde-8f01-23456789abcd');
const SLOT = '00000000a-0123456789ab';

describe('parseUploadKey', () => {
  it('reads the slot and the last segment of the name', () => {
    expect(parseUploadKey(keys, `${keys.files}${SLOT}/report.pdf`)).toEqual({ id: SLOT, filename: 'report.pdf' });
    expect(parseUploadKey(keys, `${keys.files}${SLOT}/a/b\\c.pdf`)).toEqual({ id: SLOT, filename: 'c.pdf' });
    expect(parseUploadKey(keys, `${keys.files}${SLOT}/`)).toBeNull();
  });

  it("names the issue's invoice\\u202Efdp.exe invoicefdp.exe, and a name of only invisible characters 'attachment'", () => {
    expect(parseUploadKey(keys, `${keys.files}${SLOT}/invoice\u202efdp.exe`)).toEqual({ id: SLOT, filename: 'invoicefdp.exe' });
    expect(parseUploadKey(keys, `${keys.files}${SLOT}/report\u200b\u2067gpj.scr\ufeff`)?.filename).toBe('reportgpj.scr');
    expect(parseUploadKey(keys, `${keys.files}${SLOT}/\u202e\u200b`)).toEqual({ id: SLOT, filename: 'attachment' });
  });
});
