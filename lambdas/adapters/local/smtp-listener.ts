// What local mode's two SMTP servers (inbound-smtp.ts, the stand-in for SES inbound, and
// smtp-sink.ts, the stand-in for Exchange) share: loopback SMTP without AUTH and TLS,
// replies with a chosen code, and listening until close().
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerError, type SMTPServerOptions } from 'smtp-server';

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
