// The custom resource that makes the stack's SES receipt rule set the active
// one: the decision (activate, leave, refuse, deactivate only our own), the
// handler on CloudFormation-shaped events, and the SES v1 adapter's calls.
// SES has no local stand-in for receipt rule sets: the port gets an in-memory
// account (one active set per region, as SES keeps it), the adapter a client
// that records the commands it is sent.
import { DescribeActiveReceiptRuleSetCommand, type SESClient, SetActiveReceiptRuleSetCommand } from '@aws-sdk/client-ses';
import { describe, expect, it } from 'vitest';
import { SesActiveRuleSetSwitch } from '../../../../lambdas/adapters/aws/ses-rule-set-switch.ts';
import { InvalidInputError } from '../../../../lambdas/core/errors.ts';
import {
  applyRuleSetActivation,
  planRuleSetActivation,
  type RuleSetActivationRequest,
  TAKE_OVER_SETTING,
} from '../../../../lambdas/core/ses-rule-set-activation.ts';
import { createRuleSetActivationHandler, parseActivationEvent } from '../../../../lambdas/handlers/ses-rule-set-activation.ts';
import type { ActiveRuleSetSwitch } from '../../../../lambdas/ports/ses-rule-set-switch.ts';

process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const OURS = 'shadowmail-inbound';
const FOREIGN = 'helpdesk-rules';

/** One account and region: at most one active rule set, and a log of the switches made. */
class InMemoryRuleSets implements ActiveRuleSetSwitch {
  readonly switches: Array<string | null> = [];
  constructor(private current: string | undefined) {}
  async active() {
    return this.current;
  }
  async activate(name: string) {
    this.current = name;
    this.switches.push(name);
  }
  async deactivate() {
    this.current = undefined;
    this.switches.push(null);
  }
}

const create = (takeOver = false): RuleSetActivationRequest => ({ requestType: 'Create', ruleSetName: OURS, takeOver });

/** A custom resource event as the provider framework hands it on (properties are strings). */
function cfnEvent(requestType: 'Create' | 'Update' | 'Delete', extra: Record<string, unknown> = {}) {
  return {
    RequestType: requestType,
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/x',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/shadowmail-stateless/1',
    RequestId: 'c2f6a2d4-0000-4000-8000-000000000000',
    LogicalResourceId: 'InboundMailRuleSetActivation8F1AE244',
    ResourceType: 'Custom::SesActiveReceiptRuleSet',
    ResourceProperties: {
      ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
      RuleSetName: OURS,
      TakeOverActiveRuleSet: 'false',
    },
    ...extra,
  };
}

describe('the decision', () => {
  it.each([
    ['create with nothing active', create(), undefined, { action: 'activate', ruleSetName: OURS }],
    ['create with ours already active', create(), OURS, { action: 'none', reason: `"${OURS}" is already active` }],
    ['create over a foreign set, told to take over', create(true), FOREIGN, { action: 'activate', ruleSetName: OURS, replacing: FOREIGN }],
    [
      'update to a new name while our old one is active',
      { requestType: 'Update', ruleSetName: OURS, previousRuleSetName: 'old-inbound', takeOver: false },
      'old-inbound',
      { action: 'activate', ruleSetName: OURS, replacing: 'old-inbound' },
    ],
    [
      'delete while ours is active',
      { requestType: 'Delete', ruleSetName: OURS, takeOver: false },
      OURS,
      { action: 'deactivate', ruleSetName: OURS },
    ],
    [
      'delete while another set is active',
      { requestType: 'Delete', ruleSetName: OURS, takeOver: false },
      FOREIGN,
      { action: 'none', reason: `"${OURS}" is not the active rule set (active: "${FOREIGN}"); nothing to deactivate` },
    ],
    [
      'delete with nothing active',
      { requestType: 'Delete', ruleSetName: OURS, takeOver: false },
      undefined,
      { action: 'none', reason: `"${OURS}" is not the active rule set (active: none); nothing to deactivate` },
    ],
  ] as const)('%s', (_what, request, active, expected) => {
    // Act
    const plan = planRuleSetActivation(request, active);

    // Assess
    expect(plan).toEqual(expected);
  });

  it.each([
    ['create', create()],
    ['update', { requestType: 'Update', ruleSetName: OURS, previousRuleSetName: OURS, takeOver: false } as const],
  ])('refuses to %s over a foreign active set, naming it, ours and the setting that allows it', (_what, request) => {
    // Act
    const plan = planRuleSetActivation(request, FOREIGN);

    // Assess
    expect(plan.action).toBe('refuse');
    const message = plan.action === 'refuse' ? plan.message : '';
    expect(message).toContain(`SES receipt rule set "${FOREIGN}" is active in this account and region`);
    expect(message).toContain(`activating "${OURS}" would stop every rule of "${FOREIGN}"`);
    expect(message).toContain(`set ${TAKE_OVER_SETTING} to true`);
  });
});

describe('applying it', () => {
  it('activates ours when nothing is active and reports it', async () => {
    // Prepare
    const account = new InMemoryRuleSets(undefined);

    // Act
    const outcome = await applyRuleSetActivation(create(), account);

    // Assess
    expect(await account.active()).toBe(OURS);
    expect(outcome).toEqual({
      physicalResourceId: OURS,
      data: { ActiveRuleSet: OURS, ReplacedRuleSet: '' },
      summary: `activated "${OURS}"`,
    });
  });

  it('leaves a foreign active set untouched and fails with the refusal', async () => {
    // Prepare
    const account = new InMemoryRuleSets(FOREIGN);

    // Act
    const attempt = applyRuleSetActivation(create(), account);

    // Assess
    await expect(attempt).rejects.toThrow(InvalidInputError);
    await expect(attempt).rejects.toThrow(`set ${TAKE_OVER_SETTING} to true`);
    expect(await account.active()).toBe(FOREIGN);
    expect(account.switches).toEqual([]);
  });

  it('takes over when told to and names the set it replaced', async () => {
    // Prepare
    const account = new InMemoryRuleSets(FOREIGN);

    // Act
    const outcome = await applyRuleSetActivation(create(true), account);

    // Assess
    expect(await account.active()).toBe(OURS);
    expect(outcome.data).toEqual({ ActiveRuleSet: OURS, ReplacedRuleSet: FOREIGN });
    expect(outcome.summary).toBe(`activated "${OURS}" in place of "${FOREIGN}"`);
  });

  it('does not switch again when ours is already active', async () => {
    // Prepare
    const account = new InMemoryRuleSets(OURS);

    // Act
    const outcome = await applyRuleSetActivation(create(), account);

    // Assess
    expect(account.switches).toEqual([]);
    expect(outcome.data).toEqual({ ActiveRuleSet: OURS, ReplacedRuleSet: '' });
  });
});

describe('the handler', () => {
  it('turns CloudFormation events into requests: the string flag, the physical id as the old or deleted name', () => {
    // Act
    const created = parseActivationEvent(cfnEvent('Create', { ResourceProperties: { RuleSetName: OURS, TakeOverActiveRuleSet: 'true' } }));
    const updated = parseActivationEvent(
      cfnEvent('Update', { PhysicalResourceId: 'old-inbound', OldResourceProperties: { RuleSetName: 'old-inbound' } }),
    );
    const deleted = parseActivationEvent(cfnEvent('Delete', { PhysicalResourceId: OURS }));

    // Assess
    expect(created).toEqual({ requestType: 'Create', ruleSetName: OURS, takeOver: true });
    expect(updated).toEqual({ requestType: 'Update', ruleSetName: OURS, previousRuleSetName: 'old-inbound', takeOver: false });
    expect(deleted).toEqual({ requestType: 'Delete', ruleSetName: OURS, takeOver: false });
  });

  it.each([
    ['no rule set name', cfnEvent('Create', { ResourceProperties: { TakeOverActiveRuleSet: 'false' } }), /RuleSetName/],
    ['a name SES would refuse', cfnEvent('Create', { ResourceProperties: { RuleSetName: 'bad name!' } }), /an SES receipt rule set name/],
    [
      'a flag that is no boolean',
      cfnEvent('Create', { ResourceProperties: { RuleSetName: OURS, TakeOverActiveRuleSet: 'yes' } }),
      /TakeOverActiveRuleSet/,
    ],
    ['an unknown request type', cfnEvent('Create', { RequestType: 'Rename' }), /RequestType/],
    ['a delete without physical id', cfnEvent('Delete'), /PhysicalResourceId/],
  ])('refuses an event with %s, naming the field', async (_what, event, field) => {
    // Prepare
    const account = new InMemoryRuleSets(FOREIGN);
    const handler = createRuleSetActivationHandler(account);

    // Act
    const attempt = handler(event);

    // Assess
    await expect(attempt).rejects.toThrow(InvalidInputError);
    await expect(attempt).rejects.toThrow(field);
    expect(account.switches).toEqual([]);
  });

  it('deletes on the physical id alone, whatever the properties say', async () => {
    // Prepare
    const account = new InMemoryRuleSets(OURS);
    const handler = createRuleSetActivationHandler(account);

    // Act
    const deleted = await handler(
      cfnEvent('Delete', { PhysicalResourceId: OURS, ResourceProperties: { RuleSetName: 'bad name!', TakeOverActiveRuleSet: 'yes' } }),
    );

    // Assess
    expect(deleted.PhysicalResourceId).toBe(OURS);
    expect(await account.active()).toBeUndefined();
  });

  it('answers the provider framework with the physical id and data, and deactivates on delete only its own set', async () => {
    // Prepare
    const account = new InMemoryRuleSets(undefined);
    const handler = createRuleSetActivationHandler(account);

    // Act
    const created = await handler(cfnEvent('Create'));
    // A rollback after a failed create deletes with a physical id that names no rule set.
    const strayDelete = await handler(cfnEvent('Delete', { PhysicalResourceId: 'c2f6a2d4-0000-4000-8000-000000000000' }));
    const activeAfterStrayDelete = await account.active();
    const deleted = await handler(cfnEvent('Delete', { PhysicalResourceId: created.PhysicalResourceId }));

    // Assess
    expect(created).toEqual({ PhysicalResourceId: OURS, Data: { ActiveRuleSet: OURS, ReplacedRuleSet: '' } });
    expect(strayDelete.PhysicalResourceId).toBe('c2f6a2d4-0000-4000-8000-000000000000');
    expect(activeAfterStrayDelete).toBe(OURS);
    expect(deleted).toEqual({ PhysicalResourceId: OURS, Data: { ActiveRuleSet: '', ReplacedRuleSet: '' } });
    expect(await account.active()).toBeUndefined();
    expect(account.switches).toEqual([OURS, null]);
  });
});

describe('the SES v1 adapter', () => {
  /** A client that answers DescribeActiveReceiptRuleSet with `metadata` and records every command. */
  function recordingClient(metadata: { Name?: string } | undefined) {
    const sent: unknown[] = [];
    const client = {
      send: async (command: unknown) => {
        sent.push(command);
        if (command instanceof DescribeActiveReceiptRuleSetCommand) return metadata ? { Metadata: metadata, Rules: [] } : {};
        if (command instanceof SetActiveReceiptRuleSetCommand) return {};
        throw new Error(`unexpected command ${(command as object).constructor.name}`);
      },
    };
    return { sent, client: client as unknown as Pick<SESClient, 'send'> };
  }

  it('reads the active set name, and none when SES answers without metadata', async () => {
    // Prepare
    const withActive = new SesActiveRuleSetSwitch(recordingClient({ Name: FOREIGN }).client);
    const withoutActive = new SesActiveRuleSetSwitch(recordingClient(undefined).client);

    // Act
    const names = [await withActive.active(), await withoutActive.active()];

    // Assess
    expect(names).toEqual([FOREIGN, undefined]);
  });

  it('activates by name and deactivates by SetActiveReceiptRuleSet without a name', async () => {
    // Prepare
    const { sent, client } = recordingClient(undefined);
    const rules = new SesActiveRuleSetSwitch(client);

    // Act
    await rules.activate(OURS);
    await rules.deactivate();

    // Assess
    expect(sent.map((command) => [(command as object).constructor.name, (command as SetActiveReceiptRuleSetCommand).input])).toEqual([
      ['SetActiveReceiptRuleSetCommand', { RuleSetName: OURS }],
      ['SetActiveReceiptRuleSetCommand', {}],
    ]);
  });
});
