import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import type { SecretStore } from "../ports.ts";

/**
 * How long a container reuses a secret it read: a changed secret reaches every container within
 * it. For the admin secret, with the authorizer's answer cache (infra/cloud/constructs/api.ts),
 * it bounds how long an old password keeps working.
 */
export const SECRET_CACHE_MS = 30_000;
/** A refused secret makes a container read it again, at most this often. */
export const SECRET_REFRESH_MIN_MS = 5_000;

/**
 * The cloud SecretStore: one Secrets Manager secret per name under a prefix (R4), cached for
 * SECRET_CACHE_MS per container, since every forwarded batch needs the failover password.
 */
export class SecretsManagerSecretStore implements SecretStore {
  private readonly cache = new Map<string, { value: string | undefined; readAt: number }>();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  get(name: string): Promise<string | undefined> {
    return this.cached(name, SECRET_CACHE_MS);
  }

  refresh(name: string): Promise<string | undefined> {
    return this.cached(name, SECRET_REFRESH_MIN_MS);
  }

  /** The value read less than `maxAgeMs` ago, or a new read. */
  private async cached(name: string, maxAgeMs: number): Promise<string | undefined> {
    const cached = this.cache.get(name);
    if (cached && this.now() - cached.readAt < maxAgeMs) return cached.value;
    const readAt = this.now();
    const value = await this.read(name);
    this.cache.set(name, { value, readAt });
    return value;
  }

  private async read(name: string): Promise<string | undefined> {
    try {
      const { SecretString } = await this.client.send(
        new GetSecretValueCommand({ SecretId: this.id(name) }),
      );
      return SecretString;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }

  async put(name: string, value: string): Promise<void> {
    try {
      await this.client.send(
        new PutSecretValueCommand({ SecretId: this.id(name), SecretString: value }),
      );
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      await this.client.send(new CreateSecretCommand({ Name: this.id(name), SecretString: value }));
    }
    this.cache.set(name, { value, readAt: this.now() });
  }

  private id(name: string) {
    return `${this.prefix}${name}`;
  }
}
