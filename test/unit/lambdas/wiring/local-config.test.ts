// Local mode configuration: defaults, and one clear line naming a wrong variable.
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../../lambdas/core/errors.ts';
import { readLocalConfig } from '../../../../lambdas/wiring/local-config.ts';

describe('readLocalConfig', () => {
  it('has defaults a newcomer can start with', () => {
    const config = readLocalConfig({});

    expect(config).toMatchObject({
      smtpPort: 2525,
      httpPort: 8787,
      sinkPort: 2526,
      domains: ['example.com'],
      primary: null,
      outbound: null,
      retentionDays: 28,
      forwardMaxAgeMs: 5 * 86_400_000,
      listenHost: '127.0.0.1',
      primaryMaxSessions: 10,
      subaddressSeparator: '+',
    });
    expect(config.dataDir).toMatch(/\.shadowmail$/);
  });

  it('caps what one sender holds of the SMTP listener: 200 connections, 20 per address, 10 minutes per DATA; each settable', () => {
    expect(readLocalConfig({}).smtpLimits).toEqual({ maxConnections: 200, maxConnectionsPerAddress: 20, dataDeadlineMs: 600_000 });
    expect(
      readLocalConfig({
        SHADOWMAIL_SMTP_MAX_CONNECTIONS: '50',
        SHADOWMAIL_SMTP_MAX_CONNECTIONS_PER_ADDRESS: '5',
        SHADOWMAIL_SMTP_DATA_TIMEOUT_SECONDS: '120',
      }).smtpLimits,
    ).toEqual({ maxConnections: 50, maxConnectionsPerAddress: 5, dataDeadlineMs: 120_000 });
    expect(() => readLocalConfig({ SHADOWMAIL_SMTP_MAX_CONNECTIONS_PER_ADDRESS: '0' })).toThrow(
      /SHADOWMAIL_SMTP_MAX_CONNECTIONS_PER_ADDRESS/,
    );
    expect(() => readLocalConfig({ SHADOWMAIL_SMTP_DATA_TIMEOUT_SECONDS: 'ten' })).toThrow(/SHADOWMAIL_SMTP_DATA_TIMEOUT_SECONDS/);
  });

  it('limits each webmail client to 100 requests a second, 300 at once; each settable, nonsense refused by name', () => {
    expect(readLocalConfig({}).clientRateLimit).toEqual({ ratePerSecond: 100, burst: 300 });
    expect(
      readLocalConfig({ SHADOWMAIL_CLIENT_REQUESTS_PER_SECOND: '2.5', SHADOWMAIL_CLIENT_REQUEST_BURST: '10' }).clientRateLimit,
    ).toEqual({ ratePerSecond: 2.5, burst: 10 });
    expect(() => readLocalConfig({ SHADOWMAIL_CLIENT_REQUESTS_PER_SECOND: '0' })).toThrow(/SHADOWMAIL_CLIENT_REQUESTS_PER_SECOND/);
    expect(() => readLocalConfig({ SHADOWMAIL_CLIENT_REQUEST_BURST: '1.5' })).toThrow(/SHADOWMAIL_CLIENT_REQUEST_BURST/);
  });

  it('reads domains as a case-insensitive comma list and a primary URL', () => {
    const config = readLocalConfig({ SHADOWMAIL_DOMAINS: 'Corp.Test, sub.corp.test', SHADOWMAIL_PRIMARY: 'smtp://mail.corp.test:25' });

    expect(config.domains).toEqual(['corp.test', 'sub.corp.test']);
    expect(config.primary).toEqual({ host: 'mail.corp.test', port: 25, implicitTls: false });
  });

  it('reads where the webmail sends apart from the primary (SES stands in for it in AWS)', () => {
    const config = readLocalConfig({ SHADOWMAIL_PRIMARY: 'smtp://mail.corp.test:25', SHADOWMAIL_OUTBOUND: 'smtps://relay.isp.test' });

    expect(config.outbound).toEqual({ host: 'relay.isp.test', port: 465, implicitTls: true });
    expect(config.primary).toEqual({ host: 'mail.corp.test', port: 25, implicitTls: false });
  });

  it('reads the bound on sessions to the primary, the same range as smartHost.maxSessions', () => {
    expect(readLocalConfig({ SHADOWMAIL_PRIMARY_MAX_SESSIONS: '4' }).primaryMaxSessions).toBe(4);
    expect(readLocalConfig({ SHADOWMAIL_PRIMARY_MAX_SESSIONS: '50' }).primaryMaxSessions).toBe(50);
    expect(() => readLocalConfig({ SHADOWMAIL_PRIMARY_MAX_SESSIONS: '3' })).toThrow(
      /^SHADOWMAIL_PRIMARY_MAX_SESSIONS: invalid value "3": a whole number from 4 to 50/,
    );
  });

  it("reads the primary's message size limit, by default Exchange's 36 MB, the same range as smartHost.maxMessageBytes", () => {
    expect(readLocalConfig({}).primaryMaxMessageBytes).toBe(37_748_736);
    expect(readLocalConfig({ SHADOWMAIL_PRIMARY_MAX_MESSAGE_BYTES: '10485760' }).primaryMaxMessageBytes).toBe(10_485_760);
    expect(() => readLocalConfig({ SHADOWMAIL_PRIMARY_MAX_MESSAGE_BYTES: '10MB' })).toThrow(
      /^SHADOWMAIL_PRIMARY_MAX_MESSAGE_BYTES: invalid value "10MB": a whole number of bytes from 65536/,
    );
    expect(() => readLocalConfig({ SHADOWMAIL_PRIMARY_MAX_MESSAGE_BYTES: '1000' })).toThrow(/from 65536 to 2147483648/);
  });

  it('reads the subaddress separator; empty or off turns the mapping off', () => {
    expect(readLocalConfig({ SHADOWMAIL_SUBADDRESS_SEPARATOR: '-' }).subaddressSeparator).toBe('-');
    expect(readLocalConfig({ SHADOWMAIL_SUBADDRESS_SEPARATOR: '' }).subaddressSeparator).toBe('');
    expect(readLocalConfig({ SHADOWMAIL_SUBADDRESS_SEPARATOR: 'off' }).subaddressSeparator).toBe('');
  });

  it("reads the DNS servers for the SPF, DKIM and DMARC checks; none means the system's", () => {
    expect(readLocalConfig({}).dnsServers).toEqual([]);
    expect(readLocalConfig({ SHADOWMAIL_DNS_SERVERS: '127.0.0.1:5353, [::1]:53' }).dnsServers).toEqual(['127.0.0.1:5353', '[::1]:53']);
  });

  it('reads the per-user send limits, with the defaults for what is not set', () => {
    expect(readLocalConfig({}).sendLimits).toEqual({
      messagesPerHour: 30,
      recipientsPerHour: 200,
      messagesPerDay: 100,
      recipientsPerDay: 500,
    });
    expect(readLocalConfig({ SHADOWMAIL_SEND_MESSAGES_PER_HOUR: '5', SHADOWMAIL_SEND_RECIPIENTS_PER_DAY: '1000' }).sendLimits).toEqual({
      messagesPerHour: 5,
      recipientsPerHour: 200,
      messagesPerDay: 100,
      recipientsPerDay: 1000,
    });
    expect(() => readLocalConfig({ SHADOWMAIL_SEND_RECIPIENTS_PER_HOUR: '0' })).toThrow(
      /^SHADOWMAIL_SEND_RECIPIENTS_PER_HOUR: invalid value "0": a whole number from 1 to 1000000/,
    );
  });

  it.each([
    ['SHADOWMAIL_SUBADDRESS_SEPARATOR', '%'],
    ['SHADOWMAIL_SUBADDRESS_SEPARATOR', '.'],
    ['SHADOWMAIL_SUBADDRESS_SEPARATOR', '++'],
    ['SHADOWMAIL_SUBADDRESS_SEPARATOR', '@'],
    ['SHADOWMAIL_SEND_MESSAGES_PER_DAY', 'many'],
    ['SHADOWMAIL_SEND_MESSAGES_PER_HOUR', '2.5'],
    ['SHADOWMAIL_PRIMARY_MAX_SESSIONS', 'ten'],
    ['SHADOWMAIL_DNS_SERVERS', 'dns.example.com'],
    ['SHADOWMAIL_DNS_SERVERS', 'dead.beef'],
    ['SHADOWMAIL_PRIMARY_MAX_SESSIONS', '51'],
    ['SHADOWMAIL_PRIMARY_MAX_SESSIONS', '6.5'],
    ['SHADOWMAIL_SMTP_PORT', 'twenty-five'],
    ['SHADOWMAIL_HTTP_PORT', '70000'],
    ['SHADOWMAIL_DOMAINS', 'not a domain'],
    ['SHADOWMAIL_DOMAINS', ' , '],
    ['SHADOWMAIL_PRIMARY', 'http://mail.corp.test'],
    ['SHADOWMAIL_OUTBOUND', 'relay.isp.test:25'],
    ['SHADOWMAIL_RETENTION_DAYS', '0'],
    ['SHADOWMAIL_RETENTION_DAYS', '1.5'],
  ])('refuses %s=%j with an error that names the variable', (variable, value) => {
    let error: unknown;
    try {
      readLocalConfig({ [variable]: value });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).variable).toBe(variable);
    expect((error as Error).message).toMatch(new RegExp(`^${variable}: `));
    expect((error as Error).message).not.toContain('\n');
  });
});
