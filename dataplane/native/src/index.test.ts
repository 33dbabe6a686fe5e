// The one edge where addon failures become typed errors; needs no built addon.
import { describe, expect, it } from 'vitest';
import { fromAddonError, NativeError } from './index.ts';

describe('fromAddonError', () => {
  it('turns the code prefix of the Rust message into error.code', () => {
    const raw = Object.assign(
      new Error('ERR_NATIVE_SETNS: setns /run/netns/x: EPERM: Operation not permitted'),
      {
        code: 'GenericFailure',
      },
    );
    const error = fromAddonError(raw);
    expect(error).toBeInstanceOf(NativeError);
    expect(error.code).toBe('ERR_NATIVE_SETNS');
    expect(error.message).toBe('setns /run/netns/x: EPERM: Operation not permitted');
    expect(error.cause).toBe(raw);
  });

  it('calls anything else an argument napi-rs refused', () => {
    const error = fromAddonError(
      new TypeError('Failed to convert JavaScript value `Undefined` into rust type `String`'),
    );
    expect(error.code).toBe('ERR_NATIVE_ARGUMENT');
    expect(fromAddonError(new Error('ERR_NATIVE_MADE_UP: x')).code).toBe('ERR_NATIVE_ARGUMENT');
  });

  it('leaves NativeErrors as they are', () => {
    const error = new NativeError('ERR_NATIVE_LOAD', 'cannot load');
    expect(fromAddonError(error)).toBe(error);
  });
});
