// The webmail's request limits in API Gateway, per group of routes (config
// webmail.rateLimits). An HTTP API throttles each route on its own bucket ("route-level
// throttling", https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html),
// so the expensive and the anonymous routes get routes of their own with lower limits,
// and a flood on one of them answers 429 there without spending the budget of reading
// mail ($default). These limits are per route, not per client: a flood on $default itself
// still throttles everyone who reads; webmail.waf (a rate-based rule per client) is the
// answer to that. Search is GET /mail?q=…: HTTP API routes match paths only, never query
// strings, so it shares the read budget.

export interface RouteLimit {
  /** Steady state, requests per second (API Gateway: ThrottlingRateLimit). */
  ratePerSecond: number;
  /** Requests at once above the rate (ThrottlingBurstLimit, the bucket's size). */
  burst: number;
}

export type RouteGroup = 'read' | 'signIn' | 'send' | 'attach' | 'admin' | 'declare';

/**
 * The route keys of each group ($default: everything not listed). They follow the web
 * app's paths (web/routes/*): a renamed path must be renamed here, which the synth test
 * checks against the app.
 */
export const ROUTE_KEYS: Readonly<Record<Exclude<RouteGroup, 'read'>, readonly string[]>> = {
  // Anonymous, and each one a redirect to Cognito or a code exchange with it.
  signIn: ['GET /auth/login', 'GET /auth/callback'],
  // Builds MIME, reads attachments and calls SES.
  send: ['POST /mail/send'],
  // Presigns an upload form / lists the draft's uploads in S3.
  attach: ['GET /mail/drafts/{draftId}/attach', 'GET /mail/drafts/{draftId}/uploaded'],
  // The console (trace queries, bulk resend, the failover switch): a budget of its own keeps
  // it reachable for the admins while staff traffic or a flood fills the read budget.
  admin: ['ANY /admin', 'ANY /admin/{proxy+}'],
  // The backlog alarm's link: anonymous, used once or twice per outage.
  declare: ['ANY /declare'],
};

/**
 * Defaults, each with its reason. Reading: a page is one document plus its frame and a
 * few cid: images, so 100/s carries a few hundred staff at once (the old stage-wide
 * throttle). Sign-in: 1,000 staff signing in within ten minutes is under 2/s. Sending and
 * attaching: the per-user send limits (30 messages an hour) make more than a few per
 * second abuse. Admins are a handful. /declare is clicked by one admin.
 */
export const DEFAULT_RATE_LIMITS: Readonly<Record<RouteGroup, RouteLimit>> = {
  read: { ratePerSecond: 100, burst: 200 },
  signIn: { ratePerSecond: 10, burst: 20 },
  send: { ratePerSecond: 5, burst: 10 },
  attach: { ratePerSecond: 5, burst: 10 },
  admin: { ratePerSecond: 10, burst: 20 },
  declare: { ratePerSecond: 1, burst: 5 },
};

/**
 * The account's default throttle per Region (10,000 requests/s, burst 5,000: "Amazon API
 * Gateway quotas", https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html);
 * a route limit cannot exceed it.
 */
export const ACCOUNT_THROTTLE = { ratePerSecond: 10_000, burst: 5_000 };

/**
 * The WAF rate-based rules' defaults (config webmail.waf), requests per client in 5
 * minutes (WAF counts over a sliding window; 300 s is its default). Per session: a person
 * reading and answering mail makes well under a request a second on average, so 1,500
 * (5/s) never touches a real user and stops a script. Per address: the whole office may
 * sit behind one NAT address, so this is the backstop for floods, not a per-person limit
 * (6,000 = 20/s). Per address without a session cookie: the status page and sign-in
 * redirects, a few requests per person and sign-in; 600 carries 150 sign-ins from one
 * address in 5 minutes.
 */
export const DEFAULT_WAF_LIMITS = {
  requestsPer5MinPerSession: 1_500,
  requestsPer5MinPerIp: 6_000,
  requestsPer5MinPerIpWithoutSession: 600,
} as const;

/**
 * WAF's bounds for a rate-based rule's limit: "The lowest limit setting allowed is 10"
 * (https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html);
 * the upper bound is the API's.
 */
export const WAF_LIMIT_RANGE = { min: 10, max: 2_000_000_000 } as const;
