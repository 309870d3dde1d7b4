/** Which archive a cluster's WAL goes to: the group given, else the cluster's own system identifier. */
import { UsageError } from '../cli/errors.js';
import { readSystemIdentifier } from '../postgres/pg-control.js';

/**
 * The group and the data directory's system identifier (when readable). Without `--group`, the system
 * identifier is the group: two clusters sharing a location can never mix their WAL, and pg-basebackup picks
 * the same default from the server. Fails (exit 2) when neither is available.
 */
export async function archiveGroup(given: string | undefined, pgdata: string): Promise<{ group: string; systemIdentifier: string | undefined }> {
  const systemIdentifier = await readSystemIdentifier(pgdata);
  if (given !== undefined) return { group: given, systemIdentifier };
  if (systemIdentifier === undefined) {
    throw new UsageError(`--group: not given, and ${pgdata} is not a data directory to read the system identifier from`, {
      hint: 'give --group NAME (the same as for pg-basebackup), or --pgdata / PGDATA',
    });
  }
  return { group: systemIdentifier, systemIdentifier };
}
