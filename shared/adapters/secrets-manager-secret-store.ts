import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import type { SecretStore } from "../ports.ts";

/** How long a container reuses a secret it read: a changed password reaches other containers within it. */
const CACHE_MS = 5 * 60_000;

/**
 * The cloud SecretStore: one Secrets Manager secret per name under a prefix (R4), read once
 * per container and cached, since every forwarded batch needs the failover password.
 */
export class SecretsManagerSecretStore implements SecretStore {
  private readonly cache = new Map<string, { value: string | undefined; until: number }>();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  async get(name: string): Promise<string | undefined> {
    const cached = this.cache.get(name);
    if (cached && cached.until > this.now()) return cached.value;
    const value = await this.read(name);
    this.cache.set(name, { value, until: this.now() + CACHE_MS });
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
    this.cache.set(name, { value, until: this.now() + CACHE_MS });
  }

  private id(name: string) {
    return `${this.prefix}${name}`;
  }
}
