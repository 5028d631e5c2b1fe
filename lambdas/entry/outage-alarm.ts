// Lambda entry point of the outage alarm function (lib/constructs/outage-alarm.ts bundles
// this file): SNS alarm notifications → links to the break-glass admins. Wiring (the
// session secret among it) is built once per execution environment.
import { createOutageAlarmHandler } from '../handlers/outage-alarm.ts';
import { awsOutageAlarmDeps } from '../wiring/outage-alarm.ts';
import { lazyHandler } from './lazy.ts';

export const handler = lazyHandler(async () => createOutageAlarmHandler(await awsOutageAlarmDeps()));
