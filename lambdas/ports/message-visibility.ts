// Port: when a received queue message becomes visible again (SQS ChangeMessageVisibility
// in AWS, the file queue's lease locally). The SQS handlers use it to retry a record that
// threw after a backoff instead of the queue's long visibility timeout.

/** SQS's longest visibility timeout (12 hours): the queue's and a single message's. */
export const MAX_VISIBILITY_SECONDS = 43_200;

export interface MessageVisibility {
  /**
   * The message received with `receiptHandle` becomes visible again `seconds` from now
   * (0 to 43,200) unless it is deleted first. Rejects when the message is no longer in flight.
   */
  retryAfter(receiptHandle: string, seconds: number): Promise<void>;
}
