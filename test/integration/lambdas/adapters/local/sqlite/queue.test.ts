// The SQLite queue (local mode's ingest and forward queues) against the local queues' contract.
import { describeLocalQueue } from '../../../../../support/local-queue-contract.ts';
import { sqliteQueueKit } from '../../../../../support/local-queue-kits.ts';

describeLocalQueue('SqliteQueue', sqliteQueueKit);
