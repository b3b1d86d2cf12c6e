/**
 * The one place a username and password are checked (password grants and HTTP Basic alike). Three limits stand
 * before the scrypt work:
 * - per (username, address): every attempt counts before the password is verified; a success resets it;
 * - per address, across usernames (password spraying): failures count, and past the limit the address waits;
 * - at most N password checks at once in the whole process, so guesses cannot saturate the CPU (the rest are told
 *   to come back in a second).
 * An unknown username costs the same scrypt work as a known one, so timing does not tell which accounts exist.
 */
import type { Credentials, UserRepository } from './repository.js';
import { hashPassword, verifyPassword } from './passwords.js';
import type { WindowCounter } from './throttle.js';
import { throttled } from '../../core/errors.js';

export interface LoginLimits {
  /** Failed attempts per (username, address) per window. */
  perUser: WindowCounter;
  /** Failed attempts per address, across usernames, per window. */
  perAddress: WindowCounter;
  /** Password checks running at once in this process. */
  maxConcurrent: number;
}

export class PasswordLogin {
  private readonly dummyHash: Promise<string>;
  private running = 0;

  constructor(
    private readonly users: UserRepository,
    private readonly limits: LoginLimits,
    scryptCost: number,
  ) {
    this.dummyHash = hashPassword('calbridge-dummy-password', scryptCost);
  }

  /** The user for these credentials, or undefined; throws the 409 throttle error when over a limit. */
  async check(username: string, password: string, ip: string): Promise<Credentials | undefined> {
    if (username.includes('\u0000')) username = ''; // no stored user has one; checked like an unknown user
    const addressKey = `ip|${ip}`;
    const addressWait = this.limits.perAddress.waitFor(addressKey);
    if (addressWait) throw throttled(addressWait);
    const key = `${username.trim().toLowerCase()}|${ip}`;
    const wait = this.limits.perUser.hit(key);
    if (wait) throw throttled(wait);
    if (this.running >= this.limits.maxConcurrent) throw throttled(1);
    this.running++;
    try {
      const user = username ? await this.users.credentials(username.trim()) : undefined;
      const ok = await verifyPassword(password, user?.password_hash ?? (await this.dummyHash));
      if (!user || !password || !ok) {
        this.limits.perAddress.hit(addressKey);
        return undefined;
      }
      this.limits.perUser.reset(key);
      return user;
    } finally {
      this.running--;
    }
  }
}
