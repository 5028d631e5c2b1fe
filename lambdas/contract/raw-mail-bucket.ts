// The raw-mail bucket's layout as both sides know it: where SES writes each received
// message (the receipt rule and the ingest read it), and how long after the index forgets
// a message its bytes stay (the bucket's lifecycle rule; `shadowmail cost` prices it).

/** Where SES writes each received message. */
export const RAW_MAIL_PREFIX = 'raw/';

/** S3 expires objects asynchronously and the index TTL deletes late too; this keeps the raw bytes readable while an index item can still point at them. */
export const RAW_MAIL_EXPIRY_MARGIN_DAYS = 2;
