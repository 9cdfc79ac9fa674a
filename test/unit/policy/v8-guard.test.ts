import { assertWasmInliningGuard, PolicyError, WASM_INLINING_GUARD_FLAG } from '../../../src/policy';

type Guard = typeof import('../../../src/policy/v8-guard');

describe('V8 guard', () => {
  it('is in force once src/policy is loaded: it set the flag before cedar-wasm loaded', () => {
    expect(WASM_INLINING_GUARD_FLAG).toBe('--no-turbo-inline-js-wasm-calls');
    expect(() => assertWasmInliningGuard([], '')).not.toThrow();
  });

  describe('when cedar-wasm was loaded before the guard', () => {
    let guard: Guard;
    beforeAll(() => {
      jest.isolateModules(() => {
        // require, not import: the order of loading is what this test is about.
        /* eslint-disable @typescript-eslint/no-require-imports */
        require('@cedar-policy/cedar-wasm/nodejs');
        guard = require('../../../src/policy/v8-guard') as Guard;
        /* eslint-enable @typescript-eslint/no-require-imports */
      });
    });

    it('refuses, with ERR_V8_GUARD', () => {
      let error: unknown;
      try {
        guard.assertWasmInliningGuard([], '');
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(Error);
      expect((error as PolicyError).code).toBe('ERR_V8_GUARD');
    });

    it('accepts the flag on the command line or in NODE_OPTIONS instead', () => {
      expect(() => guard.assertWasmInliningGuard([WASM_INLINING_GUARD_FLAG], '')).not.toThrow();
      expect(() => guard.assertWasmInliningGuard([], `--max-old-space-size=512 ${WASM_INLINING_GUARD_FLAG}`)).not.toThrow();
    });
  });
});
