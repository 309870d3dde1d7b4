/** A free TCP port on 127.0.0.1 (bound and released, so a server started right after gets it). */
export { freePort } from '../../lib/commands/restore-drill/redis.js';
