// One test file against the fake AWS server (cli-deployed-aws-fakes.ts): started before
// the file's tests, this process's SDK clients pointed at it in one region, the
// environment restored and the server closed after.
import { afterAll, beforeAll } from 'vitest';
import { type FakeAws, startFakeAws, useFakeAws } from './cli-deployed-aws-fakes.ts';

/** Call at the top of a test file; the returned function gives the running fake inside tests. */
export function fakeAwsForThisFile(region = 'eu-central-1'): () => FakeAws {
  let aws: FakeAws | undefined;
  const saved = { ...process.env };
  beforeAll(async () => {
    aws = await startFakeAws();
    useFakeAws(aws);
    process.env.AWS_REGION = region;
  });
  afterAll(async () => {
    process.env = saved;
    await aws?.close();
  });
  return () => {
    if (!aws) throw new Error('the fake AWS server is not running (use it inside tests)');
    return aws;
  };
}
