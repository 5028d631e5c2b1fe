// The raw-mail bucket's layout as both sides know it: the prefixes the functions write
// and read under (the stack's grants and lifecycle rules name the same ones), and how long
// after the index forgets a message its bytes stay (`shadowmail cost` prices it).

/** Where SES writes each received message. */
export const RAW_MAIL_PREFIX = 'raw/';

/** The webmail's Sent copies of what users send (expired with the retention). */
export const SENT_PREFIX = 'sent/';

/** Attachments copied out for a presigned download; a copy is needed for minutes. */
export const DOWNLOADS_PREFIX = 'downloads/';

/** Drafts and the files browsers upload for them with presigned POST forms, until the message is sent. */
export const UPLOADS_PREFIX = 'uploads/';

/** S3 expires objects asynchronously and the index TTL deletes late too; this keeps the raw bytes readable while an index item can still point at them. */
export const RAW_MAIL_EXPIRY_MARGIN_DAYS = 2;
