import type { SecretStore } from "../../shared/ports.ts";

/** The SecretStore contract in memory: what a test's server keeps its passwords in. */
export class MemorySecrets implements SecretStore {
  private readonly values = new Map<string, string>();

  async get(name: string) {
    return this.values.get(name);
  }

  async refresh(name: string) {
    return this.values.get(name);
  }

  async put(name: string, value: string) {
    this.values.set(name, value);
  }
}
