import { isIP } from 'node:net';
import { UsageError } from '../cli/errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** `HOST:PORT` or `[IPv6]:PORT`; port 0 asks the system for a free one. A UsageError names `flag`. */
export function parseListen(text: string, flag: string): ListenAddress {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new UsageError(`${flag}: '${text}' is not HOST:PORT`, { hint: 'e.g. 127.0.0.1:5000, [::1]:5000 or 0.0.0.0:5000' });
  const host = (match[1] ?? match[2])!;
  if (match[1] !== undefined && isIP(host) !== 6) throw new UsageError(`${flag}: '${host}' is not an IPv6 address`);
  return { host, port };
}

/** Whether only this machine can reach the address: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || /^::ffff:127\./i.test(host);
}

/** The URL clients use for an address (IPv6 in brackets). */
export function urlOf(scheme: 'http' | 'https', address: ListenAddress): string {
  return `${scheme}://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}
