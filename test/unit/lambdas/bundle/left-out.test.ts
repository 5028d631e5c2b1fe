// The stand-ins for code the Lambda bundles leave out fail loudly when called: a message
// on stderr (a caller may swallow the error) and an error naming what was left out.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { htmlToText } from '../../../../lambdas/bundle/html-to-text.ts';
import { LEFT_OUT, leftOut } from '../../../../lambdas/bundle/left-out.ts';
import linkifyIt from '../../../../lambdas/bundle/linkify-it.ts';
import tlds from '../../../../lambdas/bundle/tlds.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('left-out stand-ins', () => {
  it('writes the message to stderr and throws it', () => {
    // Prepare
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => {});

    // Act + Assess
    expect(() => leftOut('something')).toThrow(`something is ${LEFT_OUT}`);
    expect(stderr).toHaveBeenCalledWith(expect.stringContaining(`something is ${LEFT_OUT}`));
  });

  it('refuses to convert HTML to text', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(() => htmlToText()).toThrow(/html-to-text.*left out/);
  });

  it('takes linkify-it configuration as mailparser does it at import, and refuses to match', () => {
    // Prepare
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => {});

    // Act: mailparser's calls at import
    const linkify = linkifyIt();
    const configured = linkify.tlds(tlds).tlds('onion', true).add('git:', 'http:').add('ftp:', null).set({ fuzzyIP: true });
    linkify.add('@', { validate: () => 0 });

    // Assess
    expect(configured).toBe(linkify);
    expect(stderr).not.toHaveBeenCalled();
    expect(() => linkify.pretest()).toThrow(LEFT_OUT);
    expect(() => linkify.match()).toThrow(LEFT_OUT);
    expect(tlds).toEqual([]);
  });
});
