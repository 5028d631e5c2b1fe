// What local mode's two SMTP servers (inbound-smtp.ts, the stand-in for SES inbound, and
// smtp-sink.ts, the stand-in for Exchange) share: loopback SMTP without AUTH and TLS,
// replies with a chosen code, and listening until close().
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerError, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';

export interface SmtpListener {
  port: number;
  close(): Promise<void>;
}

/** smtp-server's options for a plain loopback server, with `options` on top. */
export function plainSmtpServer(closeTimeoutMs: number, options: SMTPServerOptions): SMTPServer {
  return new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    closeTimeout: closeTimeoutMs,
    ...options,
  });
}

/** An SMTP reply with this code (the enhanced status code goes at the start of the text). */
export function smtpError(code: number, text: string): SMTPServerError {
  const error: SMTPServerError = new Error(text);
  error.responseCode = code;
  return error;
}

/** Listens on host:port (port 0: any free one); errors after that go to onError. */
export async function listen(
  server: SMTPServer,
  address: { host?: string | undefined; port: number },
  onError: (error: unknown, context: string) => void,
): Promise<SmtpListener> {
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(address.port, address.host ?? '127.0.0.1', () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  server.on('error', (error) => onError(error, 'server'));
  return {
    port: (server.server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolveClose) => server.close(() => resolveClose())),
  };
}

/**
 * onConnect/onClose handlers that hold at most `max` connections from one client address:
 * beyond, 421 and close (a sender retries later, RFC 5321 4.2.3). smtp-server's maxClients
 * is the overall cap; it counts connections before onConnect runs, so one address could
 * otherwise take every place.
 */
export function perAddressCap(max: number): Pick<SMTPServerOptions, 'onConnect' | 'onClose'> {
  const open = new Map<string, Set<string>>();
  return {
    onConnect(session, callback) {
      const ids = open.get(session.remoteAddress) ?? new Set<string>();
      if (ids.size >= max)
        return callback(smtpError(421, `4.7.0 Too many connections from your address (at most ${max}), try again later`));
      ids.add(session.id);
      open.set(session.remoteAddress, ids);
      callback();
    },
    // Also called for connections refused above: only the counted ones are taken off.
    onClose(session: SMTPServerSession) {
      const ids = open.get(session.remoteAddress);
      if (!ids?.delete(session.id)) return;
      if (ids.size === 0) open.delete(session.remoteAddress);
    },
  };
}

/**
 * Ends the connection whose transaction is `session` with a 421 (which closes it): for a
 * deadline that idle timeouts do not give, as a byte now and then resets those.
 */
export function closeWith421(server: SMTPServer, session: SMTPServerSession, text: string): void {
  for (const connection of server.connections) {
    if (connection.session.id === session.id) connection.send(421, text, false);
  }
}
