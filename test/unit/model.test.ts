import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseBasic } from "../../functions/http.ts";
import { credentialsMatch } from "../../shared/auth/admin.ts";
import { fromZodError } from "../../shared/errors.ts";
import { hashPassword, verifyPassword } from "../../shared/model/password.ts";
import {
  failoverSettingsInput,
  ipAddress,
  name,
  serviceInput,
} from "../../shared/model/schemas.ts";
import { HybridClock, versionTimeMs } from "../../shared/model/version.ts";

describe("HybridClock (R8)", () => {
  it("grows while the wall clock stands still or goes back", () => {
    let wall = 1_000;
    const clock = new HybridClock(() => wall);
    const first = clock.next();
    const second = clock.next();
    wall = 900;
    const third = clock.next();
    expect(first).toBe(1_000_000);
    expect(second).toBeGreaterThan(first);
    expect(third).toBeGreaterThan(second);
  });

  it("issues a version above the previous one (a re-create outranks its tombstone)", () => {
    const clock = new HybridClock(() => 1_000);
    expect(clock.next(5_000_000)).toBe(5_000_001);
  });

  it("stays above every version it observed from elsewhere", () => {
    const clock = new HybridClock(() => 1_000);
    clock.observe(7_000_123);
    expect(clock.next()).toBe(7_000_124);
    expect(versionTimeMs(7_000_124)).toBe(7_000);
  });
});

describe("password hashing (R4)", () => {
  it("hashes with a fresh salt and verifies only the right password", async () => {
    const [a, b] = await Promise.all([hashPassword("s3cret!pass"), hashPassword("s3cret!pass")]);
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("s3cret");
    expect(await verifyPassword("s3cret!pass", a)).toBe(true);
    expect(await verifyPassword("s3cret!pasS", a)).toBe(false);
    expect(await verifyPassword("s3cret!pass", "plain")).toBe(false);
  });
});

describe("schemas (R1, R5)", () => {
  it.each([
    ["10.0.0.1", "10.0.0.1"],
    ["2001:DB8::0:1", "2001:db8::1"],
    ["::ffff:10.0.0.1", "::ffff:a00:1"],
  ])("normalizes the IP %s", (input, normalized) => {
    expect(ipAddress.parse(input)).toBe(normalized);
  });

  it.each(["10.0.0.256", "example.com", "", "1.2.3"])("rejects %j as an IP", (input) => {
    expect(ipAddress.safeParse(input).success).toBe(false);
  });

  it.each([["acme"], ["a.b-c_d"], ["A".repeat(64)]])("accepts the name %s", (value) => {
    expect(name.safeParse(value).success).toBe(true);
  });

  it.each([[""], ["-lead"], ["has space"], ["A".repeat(65)], ["slash/x"]])(
    "rejects the name %j",
    (value) => {
      expect(name.safeParse(value).success).toBe(false);
    },
  );

  it("rejects unknown service fields and out-of-range ports", () => {
    expect(
      serviceInput.safeParse({ protocol: "SFTP", ip: "10.0.0.1", port: 22, x: 1 }).success,
    ).toBe(false);
    expect(serviceInput.safeParse({ protocol: "SFTP", ip: "10.0.0.1", port: 65536 }).success).toBe(
      false,
    );
  });

  it("gives the failover settings their documented defaults", () => {
    expect(failoverSettingsInput.parse({})).toEqual({
      enabled: false,
      port: 443,
      useTls: true,
      timeoutMs: 10000,
      startAfterSync: false,
      autoSync: false,
      suspendAfterSeconds: 120,
      autoResume: true,
      ipSubstitutions: [],
    });
  });
});

describe("error messages name the field", () => {
  it.each([
    [z.strictObject({ a: z.array(z.number()) }), { a: [1, "x"] }, /^a\[1\]: /],
    [
      z.strictObject({ a: z.strictObject({ b: z.number() }) }),
      { a: { b: 1, c: 2 } },
      /^a\.c: unknown field$/,
    ],
    [z.strictObject({}), { extra: 1 }, /^extra: unknown field$/],
  ])("%#", (schema, input, message) => {
    const result = schema.safeParse(input);
    expect(result.success).toBe(false);
    if (!result.success) expect(fromZodError(result.error).message).toMatch(message);
  });
});

describe("Basic credentials", () => {
  it("parses a Basic header and compares both parts", () => {
    const header = `Basic ${Buffer.from("admin:pa:ss").toString("base64")}`;
    const given = parseBasic(header);
    expect(given).toEqual({ username: "admin", password: "pa:ss" });
    expect(given && credentialsMatch(given, { username: "admin", password: "pa:ss" })).toBe(true);
    expect(given && credentialsMatch(given, { username: "admin", password: "pa:sS" })).toBe(false);
    expect(given && credentialsMatch(given, { username: "root", password: "pa:ss" })).toBe(false);
    expect(parseBasic("Bearer x")).toBeUndefined();
  });
});
