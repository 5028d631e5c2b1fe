// The failover flag in AWS: one SSM parameter (String, JSON value). A missing parameter
// means normal operation, so a fresh stack starts with the webmail closed.
import { GetParameterCommand, ParameterNotFound, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { InvalidInputError, RetryableError } from '../../core/errors.ts';
import { parseFailoverState } from '../../core/failover.ts';
import { FAILOVER_OFF, type FailoverFlag, type FailoverState } from '../../ports/failover-flag.ts';

export class SsmFailoverFlag implements FailoverFlag {
  constructor(
    private readonly client: SSMClient,
    readonly parameterName: string,
  ) {}

  async read(): Promise<FailoverState> {
    let value: string | undefined;
    try {
      const output = await this.client.send(new GetParameterCommand({ Name: this.parameterName, WithDecryption: true }));
      value = output.Parameter?.Value;
    } catch (error) {
      if (error instanceof ParameterNotFound || (error as Error).name === 'ParameterNotFound') return { ...FAILOVER_OFF };
      throw new RetryableError(`cannot read the failover parameter ${this.parameterName}`, { cause: error });
    }
    if (value === undefined) return { ...FAILOVER_OFF };
    try {
      return parseFailoverState(JSON.parse(value));
    } catch (error) {
      throw new InvalidInputError(`the failover parameter ${this.parameterName} is not valid: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async write(state: FailoverState): Promise<void> {
    try {
      await this.client.send(
        new PutParameterCommand({
          Name: this.parameterName,
          Value: JSON.stringify(state),
          Type: 'String',
          Overwrite: true,
          Description: 'shadowmail failover flag: when on, staff sign in to the webmail',
        }),
      );
    } catch (error) {
      throw new RetryableError(`cannot write the failover parameter ${this.parameterName}`, { cause: error });
    }
  }
}
