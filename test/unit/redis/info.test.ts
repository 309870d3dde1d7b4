import { describe, expect, it } from 'vitest';
import { parseInfo, parseKeyspace } from '../../../lib/redis/info.js';

describe('INFO parsing', () => {
  it('reads key:value pairs and the keyspace section', () => {
    const info = parseInfo('# Server\r\nredis_version:7.0.15\r\nrole:master\r\n\r\n# Keyspace\r\ndb0:keys=10,expires=2,avg_ttl=0\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n');
    expect(info.redis_version).toBe('7.0.15');
    expect(parseKeyspace(info)).toEqual({ db0: { keys: 10, expires: 2 }, db3: { keys: 1, expires: 0 } });
    expect(parseKeyspace(parseInfo('# Keyspace\r\n'))).toEqual({});
  });
});
