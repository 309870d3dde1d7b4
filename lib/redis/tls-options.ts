/** The TLS files of rediss:// connections (resolved with the URL in redis/connection.ts). */
import type { Command, OptionValues } from '@commander-js/extra-typings';

export function addRedisTlsOptions<A extends unknown[], O extends OptionValues, G extends OptionValues>(program: Command<A, O, G>) {
  return program
    .option('--tls-ca <file>', 'CA certificate for rediss://')
    .option('--tls-cert <file>', 'client certificate for rediss://')
    .option('--tls-key <file>', 'client key for rediss://');
}
