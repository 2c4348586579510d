import { describe, expect, it } from "vitest";
import { AppError, fromZodError } from "../../shared/errors.ts";
import { failoverSettingsInput, userInput } from "../../shared/model/schemas.ts";

/** The 400 an admin would get for this body. */
function rejection(schema: { safeParse(value: unknown): { error?: unknown } }, body: unknown) {
  const { error } = schema.safeParse(body);
  if (!error) throw new Error("the body was accepted");
  return fromZodError(error as Parameters<typeof fromZodError>[0]);
}

describe("validation errors in words, every field at once (R5, R23)", () => {
  it("says what is missing and what a value must be", () => {
    const error = rejection(userInput, { email: "bob", enabled: "yes", groups: "ops" });
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ status: 400, code: "invalid_request" });
    expect(error.message.split("; ").sort()).toEqual(
      [
        "email: must be an email address",
        "enabled: must be true or false",
        "groups: must be a list",
        "homeDirectory: is required",
      ].sort(),
    );
  });

  it("gives bounds as numbers, names unknown fields, and keeps a schema's own message", () => {
    const error = rejection(failoverSettingsInput, {
      timeoutMs: 5,
      port: 1.5,
      host: "no host",
      colour: "red",
    });
    expect(error.message.split("; ").sort()).toEqual(
      [
        "colour: unknown field",
        "host: must be a DNS name or an IP address",
        "port: must be a whole number",
        "timeoutMs: must be at least 100",
      ].sort(),
    );
  });
});
