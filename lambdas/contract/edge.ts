// What the CloudFront + WAF option (config webmail.waf) and the webmail must agree on,
// without SDKs: the header CloudFront adds to every request it forwards (the webmail
// refuses requests without it, so the execute-api endpoint is no way around WAF), and the
// session cookie's name, which WAF's per-session rate rule counts by.

/** Origin custom header CloudFront sets; its value is a generated secret (Secrets Manager). */
export const ORIGIN_SECRET_HEADER = 'x-shadowmail-origin-secret';

/** The session cookie over https (`__Host-`: bound to our host and path /, Secure). */
export const SECURE_SESSION_COOKIE = '__Host-shadowmail_session';
