import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import { AdminClient, ApiError } from "../../bin/api-client.ts";

export const admin = () => ({ username: "admin", password: inject("adminPassword") });
export const productionClient = () => new AdminClient(inject("productionUrl"), admin());
export const failoverClient = () => new AdminClient(inject("failoverUrl"), admin());

/** A name no other test uses, so tests share one runtime without seeing each other. */
export const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** The ApiError a request fails with; fails the test if it succeeds. */
export async function apiError(request: Promise<unknown>): Promise<ApiError> {
  try {
    await request;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("expected the request to fail");
}
