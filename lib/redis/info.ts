
/** What the manifest records about a Redis server. */
export interface RedisFacts {
  version: string;
  role: string;
  usedMemoryBytes: number;
  /** Keys (and keys with a TTL) per database, from INFO keyspace. */
  keyspace: Record<string, { keys: number; expires: number }>;
  /** Cluster mode: one node holds only its own slots. */
  cluster: boolean;
}

/** Parses INFO output into its `key:value` pairs. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** `db0:keys=10,expires=2,avg_ttl=0` entries → { db0: { keys: 10, expires: 2 } } */
export function parseKeyspace(info: Record<string, string>): RedisFacts['keyspace'] {
  const out: RedisFacts['keyspace'] = {};
  for (const [key, value] of Object.entries(info)) {
    if (!/^db\d+$/.test(key)) continue;
    const fields = Object.fromEntries(value.split(',').map((kv) => kv.split('=') as [string, string]));
    out[key] = { keys: Number(fields.keys ?? 0), expires: Number(fields.expires ?? 0) };
  }
  return out;
}

/** The facts in INFO's text: version, role, memory and keyspace. */
export function factsFromInfo(text: string): RedisFacts {
  const info = parseInfo(text);
  return {
    version: info.redis_version ?? info.valkey_version ?? 'unknown',
    role: info.role ?? 'unknown',
    usedMemoryBytes: Number(info.used_memory ?? 0),
    keyspace: parseKeyspace(info),
    cluster: info.cluster_enabled === '1',
  };
}
