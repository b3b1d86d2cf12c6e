/**
 * The one place a username and password are checked (password grants and HTTP Basic alike): every attempt counts
 * toward the failed-login limit before the password is verified (a success resets it), and an unknown username
 * costs the same scrypt work as a known one, so timing does not tell which accounts exist.
 */
import type { Credentials, UserRepository } from './repository.js';
import { hashPassword, verifyPassword } from './passwords.js';
import type { WindowCounter } from './throttle.js';
import { throttled } from '../../core/errors.js';

export class PasswordLogin {
  private readonly dummyHash: Promise<string>;

  constructor(
    private readonly users: UserRepository,
    private readonly failures: WindowCounter,
    scryptCost: number,
  ) {
    this.dummyHash = hashPassword('calbridge-dummy-password', scryptCost);
  }

  /** The user for these credentials, or undefined; throws the 409 throttle error when over the limit. */
  async check(username: string, password: string, ip: string): Promise<Credentials | undefined> {
    if (username.includes('\u0000')) username = ''; // no stored user has one; checked like an unknown user
    const key = `${username.trim().toLowerCase()}|${ip}`;
    const wait = this.failures.hit(key);
    if (wait) throw throttled(wait);
    const user = username ? await this.users.credentials(username.trim()) : undefined;
    const ok = await verifyPassword(password, user?.password_hash ?? (await this.dummyHash));
    if (!user || !password || !ok) return undefined;
    this.failures.reset(key);
    return user;
  }
}
