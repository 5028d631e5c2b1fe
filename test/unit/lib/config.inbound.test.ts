// inbound.catchAllDomains and inbound.recipientCheck (issue 17): both off by default, and a
// catch-all domain must be one of the mail domains, named in the refusal.
import { describe, expect, it } from 'vitest';
import { parseConfig, ShadowmailConfigError, type ShadowmailConfigInput } from '../../../lib/config.ts';

const BASE = {
  domains: ['corp.example', 'sales.example'],
  smartHost: { host: 'mail.corp.example', port: 25, anonymousConnector: true },
  natGateway: {},
  identityProvider: { type: 'saml', metadataUrl: 'https://adfs.corp.example/FederationMetadata/2007-06/FederationMetadata.xml' },
  webmail: { cognitoDomainPrefix: 'corp-example-shadowmail' },
} as ShadowmailConfigInput;

describe('config inbound', () => {
  it('defaults to no catch-all domain and no recipient check', () => {
    // Act
    const config = parseConfig(BASE);

    // Assess
    expect(config.inbound).toEqual({ catchAllDomains: [], recipientCheck: false });
  });

  it('takes catch-all domains among the mail domains, in comparison form', () => {
    // Act
    const config = parseConfig({ ...BASE, inbound: { catchAllDomains: [' Sales.Example '], recipientCheck: true } });

    // Assess
    expect(config.inbound).toEqual({ catchAllDomains: ['sales.example'], recipientCheck: true });
  });

  it('refuses a catch-all domain that is not a mail domain, naming it and its place', () => {
    // Act
    const attempt = () => parseConfig({ ...BASE, inbound: { catchAllDomains: ['other.example'] } });

    // Assess
    expect(attempt).toThrow(ShadowmailConfigError);
    expect(attempt).toThrow(/inbound\.catchAllDomains\.0: other\.example is not one of domains/);
  });
});
