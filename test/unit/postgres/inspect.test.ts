import { describe, expect, it } from 'vitest';
import { OperationError, UsageError } from '../../../lib/cli/errors.js';
import { sessionError } from '../../../lib/postgres/inspect.js';
import { resolvePgTarget } from '../../../lib/postgres/connection.js';

const target = resolvePgTarget('postgres://u@db.example:6543/app', {}, { socketExists: () => false });

describe('sessionError', () => {
  it('names host:port when the session is lost', () => {
    const error = sessionError(target, new Error('Client has encountered a connection error and is not queryable'));
    expect(error).toBeInstanceOf(OperationError);
    expect((error as Error).message).toBe('lost the connection to db.example:6543 during the backup: Client has encountered a connection error and is not queryable');
  });

  it('names host:port when the server refuses a query', () => {
    const refused = Object.assign(new Error('permission denied for table secrets'), { severity: 'ERROR', code: '42501' });
    expect((sessionError(target, refused) as Error).message).toBe('query on db.example:6543 failed: permission denied for table secrets');
  });

  it('leaves tool errors and programming errors alone', () => {
    const usage = new UsageError('--x: bad');
    expect(sessionError(target, usage)).toBe(usage);
    const bug = new TypeError('x is undefined');
    expect(sessionError(target, bug)).toBe(bug);
  });
});
