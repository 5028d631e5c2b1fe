// Composition root of local mode: the same Lambda handlers as in AWS, fed by an SMTP
// listener instead of SES, every table-backed port on one SQLite file (local-store.ts),
// raw mail and durable queues under the data directory, and a built-in primary sink.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { type Http2Bindings, type HttpBindings, type ServerType, serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { createWebApp, type WebmailDeps } from '../../web/app.ts';
import { webLoggerFrom } from '../../web/middleware/logger.ts';
import { mailRouteGroups } from '../../web/routes/mail.ts';
import { BreakGlassAdminStore } from '../adapters/local/break-glass-admin-store.ts';
import { breakGlassPaths } from '../adapters/local/break-glass-sign-in.ts';
import { DemoDirectory } from '../adapters/local/demo-directory.ts';
import { FileFailoverFlag } from '../adapters/local/file-failover-flag.ts';
import { FileForwardBacklog } from '../adapters/local/file-forward-backlog.ts';
import { FileForwardQueue } from '../adapters/local/file-forward-queue.ts';
import { FileMessageVisibility } from '../adapters/local/file-message-visibility.ts';
import { FileSmsOutbox } from '../adapters/local/file-outbox.ts';
import { startInboundSmtp } from '../adapters/local/inbound-smtp.ts';
import { INBOUND_SMTP_LIMITS } from '../adapters/local/inbound-smtp-limits.ts';
import { startLocalOidcProvider } from '../adapters/local/local-oidc-provider.ts';
import type { LocalQueue } from '../adapters/local/local-queue.ts';
import { localRawMailStore } from '../adapters/local/local-raw-mail-store.ts';
import { MailauthAuthenticator } from '../adapters/local/mailauth-authenticator.ts';
import { commonHeadersOf, headerBlockOf, readHeaderBlock } from '../adapters/local/rfc5322-header-block.ts';
import { SignInCodes } from '../adapters/local/sign-in-codes.ts';
import { startSmtpSink } from '../adapters/local/smtp-sink.ts';
import { SqliteQueue } from '../adapters/local/sqlite/queue.ts';
import { importFileQueue } from '../adapters/local/sqlite/queue-import.ts';
import { MailparserMimeParser } from '../adapters/mime/mailparser-mime-parser.ts';
import { OidcSignIn } from '../adapters/oidc/oidc-sign-in.ts';
import { MailedNonDeliverySender } from '../adapters/smtp/mailed-non-delivery-sender.ts';
import { SmtpOutboundMailer } from '../adapters/smtp/smtp-outbound-mailer.ts';
import { SERVICE } from '../contract/metrics.ts';
import { splitPrimarySessions } from '../contract/primary-sessions.ts';
import { SENT_PREFIX } from '../contract/raw-mail-bucket.ts';
import { ClientRateLimit } from '../core/client-rate-limit.ts';
import { syncDirectory } from '../core/directory.ts';
import { CachedFailoverFlag } from '../core/failover.ts';
import { isKnownRecipient } from '../core/known-recipient.ts';
import { createForwardHandler } from '../handlers/forward.ts';
import { createIngestHandler } from '../handlers/ingest.ts';
import { createObservability } from '../handlers/observability.ts';
import { buildReceiptNotification, wrapInSnsEnvelope } from '../handlers/ses-receipt-event.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import { systemClock } from '../ports/clock.ts';
import type { DirectoryStore } from '../ports/directory.ts';
import type { SessionStore } from '../ports/session-store.ts';
import { type LocalConfig, localWebPaths, type SmtpTarget } from './local-config.ts';
import { acquireDataDirLock, type LocalPaths, localPaths, prepareDataDir, writeRuntimeInfo } from './local-data-dir.ts';
import { asLocalLambda } from './local-lambda.ts';
import { startLocalOutageAlarm } from './local-outage-alarm.ts';
import { localRelay, startLocalResend } from './local-resend.ts';
import { openLocalStore, refuseLegacyStore, startDurabilityTimer, startExpiryPurge } from './local-store.ts';
import { startLocalUploads } from './local-uploads.ts';
import { localMailRouteDeps } from './mail-routes.ts';
import { localAdminNotices } from './notices.ts';

/**
 * The forward's local consumer, as in AWS: one record per receive (a relay's bound fits
 * the lease), as many workers as the forward's share of SHADOWMAIL_PRIMARY_MAX_SESSIONS —
 * so at most that many relays are in flight when the process dies.
 */
export function localForwardConsumer(config: Pick<LocalConfig, 'primaryMaxSessions'>) {
  return { batchSize: 1, concurrency: splitPrimarySessions(config.primaryMaxSessions).forward };
}
export const LOCAL_BUCKET = 'inbound';
/** The local provider's Cognito-shaped pool (a region that does not exist, so never mistaken for AWS). */
export const LOCAL_USER_POOL_ID = 'zz-local-1_shadowmail';
export const LOCAL_CLIENT_ID = 'shadowmail-webmail';

export interface LocalStack {
  config: LocalConfig;
  paths: LocalPaths;
  smtpPort: number;
  httpPort: number;
  sinkPort: number | null;
  /** The embedded OIDC provider (stand-in for Cognito). */
  oidc: { url: string; issuer: string; port: number };
  /** The webmail's origin as the browser uses it. */
  publicUrl: string;
  queues: { ingest: LocalQueue; forward: LocalQueue };
  stop(): Promise<void>;
}

/** Starts every component; resolves once the stack accepts mail and /healthz answers 200. */
export async function startLocalStack(config: LocalConfig): Promise<LocalStack> {
  const paths = localPaths(config.dataDir);
  await prepareDataDir(paths);
  await refuseLegacyStore(paths);
  const releaseLock = await acquireDataDirLock(paths);
  const stoppers: (() => Promise<void>)[] = [releaseLock];
  const stop = async (): Promise<void> => {
    for (const stopper of stoppers.reverse()) await stopper().catch(() => undefined);
  };

  try {
    let ready = false;
    const store = openLocalStore(paths.database);
    stoppers.push(async () => store.close());
    // The queues exist before the first /healthz can ask about them (issue 16: a poll
    // during start-up met them in their temporal dead zone and threw a ReferenceError).
    // They are rows in the store (design.md 12.24); what an older version left in the
    // queue directories is taken over first.
    const ingestQueue = new SqliteQueue(store.db, 'ingest', { visibilityTimeoutSeconds: 60 });
    const forwardQueueRows = new SqliteQueue(store.db, 'forward', { visibilityTimeoutSeconds: Math.ceil(config.leaseMs / 1000) });
    await importFileQueue(paths.ingestQueue, ingestQueue, store.db);
    await importFileQueue(paths.forwardQueue, forwardQueueRows, store.db);
    // Only the ingest and forward handlers enqueue forward jobs, inside a consumer of a queue
    // in the same store: the job is in the log before the commit that deletes the message
    // that caused it, and no crash keeps that delete without it (design.md 12.28).
    const forwardQueue = new FileForwardQueue({ send: (body, delay) => forwardQueueRows.sendFromHandler(body, delay) });
    const queueDetails = async (): Promise<Record<string, unknown>> => ({
      queues: { ingest: await ingestQueue.stats(), forward: await forwardQueueRows.stats() },
    });
    const health = async () => ({ ready, details: await queueDetails() });
    // Health answers from the first moment; the webmail joins once its parts run.
    // One client's flood is refused (429) while others go on; the address is the connection's peer.
    const clientLimit = {
      limit: new ClientRateLimit({ ...config.clientRateLimit, clock: systemClock }),
      clientAddress: (c: Context) => getConnInfo(c).remote.address,
    };
    let app = createWebApp({ health, clientLimit });
    const http = await listen((request, env) => app.fetch(request, env), config.listenHost, config.httpPort);
    stoppers.push(() => closeServer(http.server));

    // Commits are fsynced in groups: a 250 waits for one, everything else is on disk within a
    // second. The ingest and forward consumers wait for none before they delete a message:
    // their handlers write to the same log before the delete (design.md 12.28).
    const durability = startDurabilityTimer(store, { log: (line) => console.error(line) });
    stoppers.push(async () => durability.stop());
    const { index, sessions } = store;
    const directoryStore = store.directory;
    // The provider's break-glass sign-ins are audited in the same log as the admins' actions.
    const signInAudit = store.audit;
    const webmail = await startLocalWebmail(config, { directoryStore, sessions, audit: signInAudit, paths }, http.port);
    stoppers.push(webmail.close);

    const rawStore = localRawMailStore(paths.raw, store.rawRows);

    let sinkPort: number | null = null;
    if (!config.primary) {
      const sink = await startSmtpSink({ host: '127.0.0.1', port: config.sinkPort, dir: paths.primarySink });
      sinkPort = sink.port;
      stoppers.push(() => sink.close());
    }
    const smtpTo = (target: SmtpTarget | null) =>
      target
        ? { host: target.host, port: target.port, tls: target.implicitTls ? ('implicit' as const) : ('starttls-opportunistic' as const) }
        : { host: '127.0.0.1', port: sinkPort!, tls: 'none' as const };
    // One relay for forward and resend: together at most SHADOWMAIL_PRIMARY_MAX_SESSIONS sessions.
    const relay = localRelay(config, sinkPort);
    stoppers.push(() => relay.close()); // idle sessions to the primary: QUIT once forward and resend have stopped
    const resend = await startLocalResend({ store, rawStore, relay, paths, clock: systemClock, config });
    stoppers.push(() => resend.stop());

    // The webmail's mail goes to SHADOWMAIL_OUTBOUND (the stand-in for SES sending, which
    // does not need Exchange), else where the forward goes: the configured primary or the
    // sink. Its Sent copies sit beside the received mail.
    const mailer = new SmtpOutboundMailer(smtpTo(config.outbound ?? config.primary));
    stoppers.push(async () => mailer.close());
    const { sendCounter } = store;
    const uploads = await startLocalUploads({
      listenHost: config.listenHost,
      port: config.uploadPort,
      browserHost: new URL(webmail.publicUrl).hostname,
      rawStore: rawStore.files,
      bucket: LOCAL_BUCKET,
      clock: systemClock,
    });
    stoppers.push(uploads.close);
    // Issue 13: the backlog alarm's links into the local outboxes, and the /declare page they open.
    const outageAlarm = startLocalOutageAlarm({
      admins: config.breakGlassAdmins,
      contacts: config.breakGlassContacts,
      backlogAlarmMinutes: config.forwardBacklogAlarmMinutes,
      checkSeconds: config.backlogCheckSeconds,
      forwardQueue: forwardQueueRows,
      singleUse: store.singleUse,
      sessionSecret: webmail.deps.sessionSecret,
      flag: webmail.deps.failover,
      audit: resend.audit,
      clock: systemClock,
      paths,
      publicOrigin: webmail.deps.publicOrigin,
      timeZone: config.timeZone,
      log: (line) => webmail.deps.logger?.info(line),
    });
    stoppers.push(() => outageAlarm.stop());
    // No TTL sweeper locally: expired rows go at start and hourly.
    const expiry = startExpiryPurge(store, { now: () => systemClock.now(), log: (line) => webmail.deps.logger?.info(line) });
    stoppers.push(async () => expiry.stop());
    app = createWebApp({
      health,
      clientLimit,
      webmail: {
        ...webmail.deps,
        declare: outageAlarm.declare,
        // Sign-ins recorded beside the admins' actions: the console counts them during a failover.
        audit: resend.audit,
        userRoutes: mailRouteGroups(
          localMailRouteDeps({
            index,
            rawStore,
            mailer,
            drafts: uploads.drafts,
            publicOrigin: webmail.deps.publicOrigin,
            clock: systemClock,
            signingSecret: webmail.deps.sessionSecret,
            send: {
              retentionDays: config.retentionDays,
              sentBucket: LOCAL_BUCKET,
              sentKeyPrefix: SENT_PREFIX,
              sendLimits: config.sendLimits,
            },
            sendCounter,
            audit: resend.audit,
            ...(webmail.deps.logger && { logger: webmail.deps.logger }),
          }),
        ),
        // The cached flag's write refreshes its cache: the gate sees an admin's switch at once.
        admin: {
          index,
          rawStore,
          audit: resend.audit,
          clock: systemClock,
          resend: resend.startDeps,
          flag: webmail.deps.failover,
          // Failover notices (SHADOWMAIL_NOTICES) into the outbox files under the data directory.
          notices: localAdminNotices(config, webmail.publicUrl, directoryStore),
          // The first page (issue 16): the forward file queue's backlog and the directory; no DLQs locally.
          backlog: new FileForwardBacklog(forwardQueueRows),
          directory: directoryStore,
          reconcileTarget: { dataDir: config.dataDir },
        },
      },
    });

    // One process owns the data directory, so its workers share one lease owner:
    // after a crash the restarted process takes over its own leases at once.
    const workerId = 'local';
    const parser = new MailparserMimeParser();
    const ingest = createIngestHandler({
      index,
      rawStore,
      parser,
      forwardQueue,
      clock: systemClock,
      workerId,
      retryVisibility: new FileMessageVisibility(ingestQueue),
      config: {
        retentionDays: config.retentionDays,
        stackId: config.stackId,
        leaseMs: config.leaseMs,
        subaddressSeparator: config.subaddressSeparator,
        ownDomains: config.domains.map((domain) => domain.toLowerCase()),
      },
      ...createObservability(SERVICE.ingest),
    });
    const forward = createForwardHandler({
      index,
      rawStore,
      relay,
      forwardQueue,
      clock: systemClock,
      workerId,
      retryVisibility: new FileMessageVisibility(forwardQueueRows),
      config: {
        stackId: config.stackId,
        maxAgeMs: config.forwardMaxAgeMs,
        retryBaseSeconds: config.retryBaseSeconds,
        retryMaxDelaySeconds: config.retryMaxDelaySeconds,
        leaseMs: config.leaseMs,
        maxMessageBytes: config.primaryMaxMessageBytes,
      },
      // Issue 17: non-delivery reports go the webmail's way out (SES sending in AWS), from the null sender.
      nonDelivery: { sender: new MailedNonDeliverySender(mailer, systemClock), counter: sendCounter, reportingMta: hostname() },
      ...createObservability(SERVICE.forward),
    });
    const ingestConsumer = ingestQueue.startConsumer(asLocalLambda(ingest, 'ingest'), { batchSize: 10, concurrency: 1 });
    stoppers.push(() => ingestConsumer.stop());
    const forwardConsumer = forwardQueueRows.startConsumer(asLocalLambda(forward, 'forward'), localForwardConsumer(config));
    stoppers.push(() => forwardConsumer.stop());

    const authenticator = new MailauthAuthenticator({ dnsServers: config.dnsServers });
    const inbound = await startInboundSmtp({
      host: config.listenHost,
      port: config.smtpPort,
      domains: config.domains,
      // Issue 17: once a directory is in force, an address it does not know gets 550 5.1.1 at RCPT TO.
      isKnownRecipient: (address) =>
        isKnownRecipient(
          address,
          { addresses: index, directory: directoryStore },
          { subaddressSeparator: config.subaddressSeparator, catchAllDomains: config.catchAllDomains },
        ),
      ...config.smtpLimits,
      // Issue 17: what the primary would refuse is refused here, at MAIL FROM SIZE= or after DATA (552).
      maxMessageBytes: Math.min(config.primaryMaxMessageBytes, INBOUND_SMTP_LIMITS.maxMessageBytes),
      spoolDir: paths.spool,
      accept: async (message) => {
        // The id the sender saw in "250 queued as <id>" is the one trace shows.
        const sesMessageId = message.id;
        // A small message is still in memory (spool-writer.ts): nothing is read back.
        const headers = message.bytes ? headerBlockOf(message.bytes) : await readHeaderBlock(message.spoolFile);
        // SES judges SPF, DKIM and DMARC before it writes the notification; so does local mode.
        const authentication = await authenticator.authenticate(message.bytes ?? createReadStream(message.spoolFile), {
          clientAddress: message.client.address,
          helo: message.client.helo,
          envelopeFrom: message.envelopeFrom,
        });
        const key = sesMessageId;
        // A message held in memory becomes a row, put on disk by the queue's send below with
        // its own row (one fsync of the log for both); one that spilled moves its file.
        if (message.bytes) rawStore.putBeforeDurable({ bucket: LOCAL_BUCKET, key }, message.bytes);
        else await rawStore.adopt({ bucket: LOCAL_BUCKET, key }, message.spoolFile);
        const notification = buildReceiptNotification({
          sesMessageId,
          receivedAt: message.receivedAt,
          envelopeFrom: message.envelopeFrom,
          envelopeRecipients: message.envelopeRecipients,
          bucket: LOCAL_BUCKET,
          key,
          headers,
          commonHeaders: commonHeadersOf(headers),
          authentication,
        });
        await ingestQueue.send(wrapInSnsEnvelope(notification, sesMessageId));
      },
    });
    stoppers.push(() => inbound.close());

    await writeRuntimeInfo(paths, {
      pid: process.pid,
      smtpPort: inbound.port,
      httpPort: http.port,
      sinkPort,
    });
    stoppers.push(() => rm(paths.runtimeInfo, { force: true }));
    ready = true;
    return {
      config,
      paths,
      smtpPort: inbound.port,
      httpPort: http.port,
      sinkPort,
      oidc: webmail.oidc,
      publicUrl: webmail.publicUrl,
      queues: { ingest: ingestQueue, forward: forwardQueueRows },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The webmail's local parts: the demo directory (its addresses written into the address
 * map), the embedded OIDC provider, the flag file behind the cache, the session secret.
 */
async function startLocalWebmail(
  config: LocalConfig,
  parts: { directoryStore: DirectoryStore; sessions: SessionStore; audit: AuditLog; paths: LocalPaths },
  httpPort: number,
) {
  const { directoryStore, sessions } = parts;
  const files = localWebPaths(config.dataDir);
  const flagFile = new FileFailoverFlag(files.failoverFlag);
  const logger = webLoggerFrom(createObservability(SERVICE.webmail).logger);
  const directory = await DemoDirectory.open(files.directory, config.domains[0]!);
  // The demo users stand in for AD until the admin syncs or imports a real directory:
  // only an empty directory is filled from them, so an import is never overwritten. A demo
  // file without users is no directory at all: every address is taken (issue 17's door).
  const demoUsers = (await directory.asSource().readAll()).users.length;
  if (demoUsers > 0 && (await directoryStore.readState()).users.length === 0) {
    await syncDirectory(directory.asSource(), directoryStore, { owner: `local-demo:${process.pid}`, now: () => new Date() });
  }
  const publicUrl = config.publicUrl ?? `http://${urlHost(config.listenHost)}:${httpPort}`;
  const redirectUri = `${publicUrl}/auth/callback`;
  const afterSignOut = `${publicUrl}/`;
  const provider = await startLocalOidcProvider({
    port: config.oidcPort,
    keysFile: files.oidcKeys,
    stateFile: files.oidcState,
    userPoolId: LOCAL_USER_POOL_ID,
    directory,
    client: { clientId: LOCAL_CLIENT_ID, redirectUris: [redirectUri], postLogoutRedirectUris: [afterSignOut] },
    // `shadowmail idp down` writes this file: AD FS's stand-in is gone until `idp up`.
    idpDownFile: parts.paths.idpDown,
    breakGlass: breakGlassPaths({
      // The flag file itself, not the webmail's cache: a code path closes the moment the flag goes off.
      flag: flagFile,
      directory: directoryStore,
      sms: new FileSmsOutbox(parts.paths.smsOutbox, (line) => logger.info('local SMS outbox', { message: line })),
      codes: new SignInCodes(systemClock),
      admins: new BreakGlassAdminStore(files.breakGlassAdmins, systemClock),
      adminGroup: config.adminGroup,
      audit: parts.audit,
      clock: systemClock,
    }),
  });
  const logoutUrl = new URL(provider.endSessionUrl);
  logoutUrl.searchParams.set('client_id', LOCAL_CLIENT_ID);
  logoutUrl.searchParams.set('post_logout_redirect_uri', afterSignOut);
  const deps: WebmailDeps = {
    directory: directoryStore,
    sessions,
    failover: new CachedFailoverFlag(flagFile, { maxAgeMs: config.failoverCacheSeconds * 1000 }),
    signIn: new OidcSignIn({
      userPoolId: LOCAL_USER_POOL_ID,
      clientId: LOCAL_CLIENT_ID,
      clientSecret: provider.clientSecret,
      redirectUri,
      discoveryUrl: provider.discoveryUrl,
      logoutUrl: logoutUrl.href,
    }),
    sessionSecret: await loadOrCreateSecret(files.sessionSecret),
    publicOrigin: new URL(publicUrl).origin,
    adminGroup: config.adminGroup,
    breakGlassAdmins: config.breakGlassAdmins,
    clock: systemClock,
    timeZone: config.timeZone,
    logger,
  };
  return {
    deps,
    publicUrl,
    oidc: { url: provider.url, issuer: provider.issuer, port: provider.port },
    close: () => provider.close(),
  };
}

/** The host part of the URL browsers use: a wildcard listen address means this machine. */
function urlHost(listenHost: string): string {
  if (listenHost === '0.0.0.0' || listenHost === '::' || listenHost === '') return '127.0.0.1';
  return listenHost.includes(':') ? `[${listenHost}]` : listenHost;
}

/** A random secret generated on first start and kept (owner-only) under the data directory. */
async function loadOrCreateSecret(file: string): Promise<string> {
  try {
    const secret = (await readFile(file, 'utf8')).trim();
    if (secret.length >= 32) return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(48).toString('base64url');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** The node server hands each request's connection (incoming, outgoing) on as the app's env: getConnInfo reads it. */
async function listen(
  fetch: (request: Request, env: HttpBindings | Http2Bindings) => Response | Promise<Response>,
  host: string,
  port: number,
) {
  return new Promise<{ server: ServerType; port: number }>((resolve, reject) => {
    const server = serve({ fetch, hostname: host, port }, (info) => resolve({ server, port: info.port }));
    server.once('error', reject);
  });
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
