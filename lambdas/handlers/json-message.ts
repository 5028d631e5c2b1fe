// A queue message's body as the handlers read it: JSON, then the schema. Either failure is
// an InvalidInputError naming what the message should have been (a poison message, kept
// for the dead-letter queue rather than retried as if the next try could differ).
import type { z } from 'zod';
import { prettifyError } from 'zod';
import { InvalidInputError } from '../core/errors.ts';

export function parseJsonMessage<Schema extends z.ZodType>(body: string, schema: Schema, what: string): z.output<Schema> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new InvalidInputError(`${what} is not JSON`, { cause: error });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new InvalidInputError(`invalid ${what}: ${prettifyError(parsed.error)}`);
  return parsed.data;
}
