// The frame the port contracts and store tests share: a fresh subject (a store, a table,
// a file) made before each test and cleaned up after it, read inside a test through the
// function returned.
import { afterEach, beforeEach } from 'vitest';

export function freshPerTest<T extends { cleanup?(): Promise<void> }>(make: () => T | Promise<T>): () => T {
  let made: T | undefined;
  beforeEach(async () => {
    made = await make();
  });
  afterEach(async () => {
    await made?.cleanup?.();
    made = undefined;
  });
  return () => {
    if (!made) throw new Error('nothing made for this test');
    return made;
  };
}
