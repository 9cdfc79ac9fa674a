import { ToolgateError } from '../../../src/errors/toolgate-error';
import { InvalidValueError } from '../../../src/errors/invalid-value-error';
import { asError, errorCode, errorMessage } from '../../../src/errors/unknown-error';
import { UsageError } from '../../../src/cli/command';
import { CatalogFileError } from '../../../src/cli/mcp-catalog-file';
import { McpFetchError } from '../../../src/cli/mcp-fetch-error';
import { ConfigError } from '../../../src/config/config-error';
import { CallTokenError } from '../../../src/credentials/call-token-verifier';
import { SigningKeyFileError } from '../../../src/credentials/key-ring';
import { IdentityError } from '../../../src/identity/identity-error';
import { WorkloadTokenError } from '../../../src/identity/workload-token-error';
import { LogDestinationError } from '../../../src/observability/logger';
import { PolicyError } from '../../../src/policy/errors';
import { SchemaGenerationError } from '../../../src/policy/schema-generator';
import { MessageDecodeError } from '../../../src/relay/exact-decode';
import { ProtoLoadError } from '../../../src/relay/method-catalog';
import { ServerReflectionError } from '../../../src/relay/server-reflection';
import { StateError } from '../../../src/state/state-error';
import { TaskError } from '../../../src/tasks/task-errors';

class ExampleError extends ToolgateError<'ERR_EXAMPLE_ONE' | 'ERR_EXAMPLE_TWO'> {}

describe('ToolgateError', () => {
  it('carries its code, its message and the name of the class thrown', () => {
    const err = new ExampleError('ERR_EXAMPLE_TWO', 'what went wrong');
    expect(err.code).toBe('ERR_EXAMPLE_TWO');
    expect(err.message).toBe('what went wrong');
    expect(err.name).toBe('ExampleError');
    expect(String(err)).toBe('ExampleError: what went wrong');
    expect(err.stack).toContain('ExampleError: what went wrong');
  });

  it('is an Error, a ToolgateError and its own class', () => {
    const err = new ExampleError('ERR_EXAMPLE_ONE', 'x');
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(ToolgateError);
    expect(err).toBeInstanceOf(ExampleError);
    expect(new InvalidValueError('x')).not.toBeInstanceOf(ExampleError);
  });

  it('keeps the cause, and has no cause property without one', () => {
    const cause = new Error('underlying');
    expect(new ExampleError('ERR_EXAMPLE_ONE', 'x', { cause }).cause).toBe(cause);
    // a thrown non-Error is kept as it is
    expect(new ExampleError('ERR_EXAMPLE_ONE', 'x', { cause: 'a string' }).cause).toBe('a string');
    expect('cause' in new ExampleError('ERR_EXAMPLE_ONE', 'x')).toBe(false);
    expect('cause' in new ExampleError('ERR_EXAMPLE_ONE', 'x', {})).toBe(false);
  });
});

describe('every error family', () => {
  // One of each, with the code it must carry: codes are a published contract (docs/errors.md).
  const families: [string, string, ToolgateError][] = [
    ['ConfigError', 'ERR_CONFIG', new ConfigError('toolgate.yaml', [{ path: 'listen', line: 3, message: 'bad' }])],
    ['InvalidValueError', 'ERR_INVALID_VALUE', new InvalidValueError('bad')],
    ['UsageError', 'ERR_USAGE', new UsageError('bad')],
    ['IdentityError', 'ERR_IDENTITY', new IdentityError('bad')],
    ['WorkloadTokenError', 'ERR_TOKEN_EXPIRED', new WorkloadTokenError('ERR_TOKEN_EXPIRED', 'bad')],
    ['PolicyError', 'ERR_POLICY_PARSE', new PolicyError('ERR_POLICY_PARSE', 'bad')],
    ['SchemaGenerationError', 'ERR_SCHEMA_GENERATION', new SchemaGenerationError(['bad'])],
    ['TaskError', 'ERR_TASK_BUDGET', new TaskError('ERR_TASK_BUDGET', 'bad')],
    ['SigningKeyFileError', 'ERR_SIGNING_KEY_FILE', new SigningKeyFileError('key.json', 'bad')],
    ['CallTokenError', 'ERR_CALL_TOKEN', new CallTokenError('bad')],
    ['ProtoLoadError', 'ERR_PROTO_LOAD', new ProtoLoadError('bad')],
    ['ServerReflectionError', 'ERR_SERVER_REFLECTION', new ServerReflectionError('bad')],
    ['MessageDecodeError', 'ERR_MESSAGE_DECODE', new MessageDecodeError('bad')],
    ['LogDestinationError', 'ERR_LOG_DESTINATION', new LogDestinationError('bad')],
    ['StateError', 'ERR_STATE_UNAVAILABLE', new StateError('bad')],
    ['McpFetchError', 'ERR_MCP_FETCH', new McpFetchError('list tools', 'bad')],
    ['CatalogFileError', 'ERR_MCP_CATALOG_FILE', new CatalogFileError('notes.json', 'bad')],
  ];

  it.each(families)('%s extends ToolgateError with code %s', (name, code, err) => {
    expect(err).toBeInstanceOf(ToolgateError);
    expect(err.name).toBe(name);
    expect(err.code).toBe(code);
  });

  it('keeps the messages operators read', () => {
    expect(new ConfigError('toolgate.yaml', [{ path: 'listen', line: 3, message: 'bad' }]).message).toBe('toolgate.yaml:3: listen: bad');
    expect(new ConfigError('toolgate.yaml', [{ path: '', message: 'bad' }]).message).toBe('toolgate.yaml: bad');
    // a problem found at start, after loading: the key names it
    expect(new ConfigError('', [{ path: 'state.redis.urlEnv', message: 'environment variable X is not set' }]).message).toBe(
      'state.redis.urlEnv: environment variable X is not set',
    );
    expect(new PolicyError('ERR_POLICY_PARSE', 'cannot load', { problems: ['a', 'b'] }).message).toBe('cannot load:\n  a\n  b');
    expect(new SigningKeyFileError('key.json', 'no such file').message).toBe('signing key file key.json: no such file');
    expect(new SchemaGenerationError(['a', 'b']).message).toBe('cannot generate the Cedar schema:\n  a\n  b');
    // one line, whatever a server wrote in its error: escape sequences escaped
    expect(new McpFetchError('initialize', 'HTTP 500: oops\n  \u001b[2Jgone').message).toBe('initialize: HTTP 500: oops \\u{1b}[2Jgone');
    expect(new CatalogFileError('notes.json', 'is not JSON').message).toBe('catalog file notes.json: is not JSON');
  });

  it('passes a cause through each family constructor that takes one', () => {
    const cause = new Error('underlying');
    expect(new PolicyError('ERR_POLICY_LOAD', 'x', { cause }).cause).toBe(cause);
    expect(new TaskError('ERR_TASK_KEY', 'x', { cause }).cause).toBe(cause);
    expect(new InvalidValueError('x', { cause }).cause).toBe(cause);
    expect(new SigningKeyFileError('f', 'x', { cause }).cause).toBe(cause);
    expect(new ProtoLoadError('x', { cause }).cause).toBe(cause);
  });
});

describe('caught values', () => {
  it('errorMessage reads a message without a cast, whatever was thrown', () => {
    expect(errorMessage(new TypeError('boom'))).toBe('boom');
    expect(errorMessage({ message: 'from another realm' })).toBe('from another realm');
    expect(errorMessage('a string')).toBe('a string');
    expect(errorMessage(42)).toBe('42');
    expect(errorMessage(undefined)).toBe('undefined');
    expect(errorMessage({ message: 7 })).toBe('[object Object]');
    expect(errorMessage(Object.create(null))).toBe('unknown error');
  });

  it('errorCode reads a string code only', () => {
    expect(errorCode(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe('ENOENT');
    expect(errorCode(new TaskError('ERR_TASK_ENDED', 'x'))).toBe('ERR_TASK_ENDED');
    expect(errorCode({ code: 14 })).toBeUndefined();
    expect(errorCode(new Error('x'))).toBeUndefined();
    expect(errorCode(null)).toBeUndefined();
    expect(errorCode('ENOENT')).toBeUndefined();
  });

  it('asError returns an Error as it is and wraps anything else, keeping it as the cause', () => {
    const err = new RangeError('x');
    expect(asError(err)).toBe(err);
    const wrapped = asError('a string');
    expect(wrapped).toBeInstanceOf(Error);
    expect(wrapped.message).toBe('a string');
    expect(wrapped.cause).toBe('a string');
  });
});
