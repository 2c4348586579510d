import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Comparison,
  type Condition,
  ConditionError,
  compileCondition,
  MAX_PATTERN_LENGTH,
} from "../../shared/events/condition.ts";
import { matchesPattern, validatePattern } from "../../shared/events/pattern.ts";
import { triggerInput } from "../../shared/model/schemas.ts";
import type { SyncEventDetail } from "../../shared/sync/events.ts";

const base = { source: ["mft.failover"], "detail-type": ["Failover Synchronization"] };
const envelope = (detail: SyncEventDetail) => ({
  version: "0",
  id: "e1",
  source: "mft.failover",
  "detail-type": "Failover Synchronization",
  account: "000000000000",
  time: "2026-01-01T00:00:00Z",
  region: "us-east-1",
  resources: [],
  detail,
});
const failed: SyncEventDetail = {
  Success: false,
  Mode: "automatic",
  Primary: "prod",
  Failover: "dr",
  StartedAt: "2026-01-01T00:00:00Z",
  FinishedAt: "2026-01-01T00:00:01Z",
  Items: 3,
  Reason: "failover unreachable",
};
const succeeded: SyncEventDetail = {
  ...failed,
  Success: true,
  Mode: "on-demand",
  Items: 120,
  Reason: undefined,
};

/** The reference semantics of a condition, evaluated directly on the detail (R17). */
function evaluate(condition: Condition, detail: SyncEventDetail): boolean {
  if ("and" in condition) return condition.and.every((part) => evaluate(part, detail));
  if ("or" in condition) return condition.or.some((part) => evaluate(part, detail));
  const value: unknown = detail[condition.variable];
  switch (condition.op) {
    case "==":
      return value === condition.value;
    case "!=":
      return value !== condition.value;
    case "<":
      return typeof value === "number" && value < condition.value;
    case ">":
      return typeof value === "number" && value > condition.value;
  }
}

describe("trigger conditions compile to EventBridge patterns (R17)", () => {
  it("a comparison becomes a detail filter under the event's source and type", () => {
    expect(compileCondition({ variable: "Success", op: "==", value: false })).toEqual({
      ...base,
      detail: { Success: [false] },
    });
  });

  it("Changed (a change of outcome) is a boolean filter: breaks and heals are one rule each", () => {
    const breaks = compileCondition({
      and: [
        { variable: "Success", op: "==", value: false },
        { variable: "Changed", op: "==", value: true },
      ],
    });
    expect(breaks).toEqual({ ...base, detail: { Success: [false], Changed: [true] } });
    const again = { ...failed, PreviousSuccess: false, Changed: false };
    expect(matchesPattern(breaks, envelope({ ...failed, Changed: true }))).toBe(true);
    expect(matchesPattern(breaks, envelope(again))).toBe(false);
    expect(compileCondition({ variable: "Changed", op: "!=", value: false }).detail).toEqual({
      Changed: [true],
    });
  });

  it("no condition matches every Failover Synchronization event, and only those", () => {
    const pattern = compileCondition(undefined);
    expect(pattern).toEqual(base);
    expect(matchesPattern(pattern, envelope(failed))).toBe(true);
    expect(matchesPattern(pattern, { ...envelope(failed), source: "aws.ec2" })).toBe(false);
    expect(matchesPattern(pattern, { ...envelope(failed), "detail-type": "Other" })).toBe(false);
  });

  it("!= on a string is anything-but, and also holds when the optional field is absent", () => {
    expect(compileCondition({ variable: "Reason", op: "!=", value: "timeout" })).toEqual({
      ...base,
      detail: {
        $or: [{ Reason: [{ "anything-but": "timeout" }] }, { Reason: [{ exists: false }] }],
      },
    });
    expect(compileCondition({ variable: "Primary", op: "!=", value: "prod" })).toEqual({
      ...base,
      detail: { Primary: [{ "anything-but": "prod" }] },
    });
  });

  it("!= on a boolean or a mode is the other values", () => {
    expect(compileCondition({ variable: "Success", op: "!=", value: true }).detail).toEqual({
      Success: [false],
    });
    expect(compileCondition({ variable: "Mode", op: "!=", value: "automatic" }).detail).toEqual({
      Mode: ["on-demand", "takeover", "failback"],
    });
  });

  it("< and > become numeric ranges; != inside a range splits it", () => {
    const condition: Condition = {
      and: [
        { variable: "Items", op: ">", value: 1 },
        { variable: "Items", op: "!=", value: 3 },
        { variable: "Items", op: "<", value: 10 },
      ],
    };
    expect(compileCondition(condition).detail).toEqual({
      Items: [{ numeric: [">", 1, "<", 3] }, { numeric: [">", 3, "<", 10] }],
    });
    expect(compileCondition({ variable: "Items", op: "!=", value: 0 }).detail).toEqual({
      Items: [{ "anything-but": 0 }],
    });
  });

  it("or becomes $or, and an and of ors is distributed into one $or", () => {
    const condition: Condition = {
      and: [
        {
          or: [
            { variable: "Success", op: "==", value: false },
            { variable: "Items", op: ">", value: 100 },
          ],
        },
        {
          or: [
            { variable: "Mode", op: "==", value: "automatic" },
            { variable: "Primary", op: "==", value: "prod" },
          ],
        },
      ],
    };
    expect(compileCondition(condition).detail).toEqual({
      $or: [
        { Success: [false], Mode: ["automatic"] },
        { Success: [false], Primary: ["prod"] },
        { Mode: ["automatic"], Items: [{ numeric: [">", 100] }] },
        { Items: [{ numeric: [">", 100] }], Primary: ["prod"] },
      ],
    });
  });

  it("a condition that always holds matches every event; redundant parts vanish", () => {
    const always: Condition = {
      or: [
        { variable: "Success", op: "==", value: true },
        { variable: "Success", op: "==", value: false },
      ],
    };
    const pattern = compileCondition(always);
    expect(matchesPattern(pattern, envelope(failed))).toBe(true);
    expect(matchesPattern(pattern, envelope(succeeded))).toBe(true);
    expect(
      compileCondition({ and: [always, { variable: "Success", op: "!=", value: true }] }).detail,
    ).toEqual({ Success: [false] });
  });

  it("refuses conditions that can never hold or are too big for a rule", () => {
    const never: Condition = {
      and: [
        { variable: "Items", op: ">", value: 5 },
        { variable: "Items", op: "<", value: 5 },
      ],
    };
    expect(() => compileCondition(never)).toThrow(ConditionError);
    const branch = (n: number): Condition => ({
      or: Array.from({ length: 10 }, (_, i) => ({
        variable: "Primary",
        op: "==",
        value: `server-${n}-${i}`,
      })),
    });
    expect(() => compileCondition({ and: [branch(1), branch(2), branch(3)] })).toThrow(
      /too complex/,
    );
  });

  it("the trigger schema gives a 400-style message naming the field", () => {
    const parse = (condition: unknown) =>
      triggerInput.safeParse({
        event: "Failover Synchronization",
        condition,
        actions: [{ type: "email", to: ["ops@example.com"], subject: "s" }],
      });
    const message = (condition: unknown) => {
      const result = parse(condition);
      return result.success
        ? "ok"
        : `${result.error.issues[0]?.path.join(".")}: ${result.error.issues[0]?.message}`;
    };
    expect(message({ variable: "Success", op: "<", value: 1 })).toMatch(/^condition\.op: /);
    expect(message({ variable: "Items", op: ">", value: "3" })).toMatch(/^condition\.value: /);
    expect(message({ and: [{ variable: "Colour", op: "==", value: 1 }] })).toMatch(
      /^condition\.and\.0\.variable: /,
    );
    expect(message({ or: [] })).toMatch(/^condition\.or: /);
    expect(message({ variable: "Mode", op: "==", value: "sometimes" })).toMatch(
      /^condition\.value/,
    );
    expect(
      message({
        and: [
          { variable: "Success", op: "==", value: true },
          { variable: "Success", op: "==", value: false },
        ],
      }),
    ).toBe("condition: can never be true");
    expect(message({ variable: "Items", op: ">", value: 0 })).toBe("ok");
  });
});

// ---------------------------------------------------------------------------------------------
// Property: the compiled pattern, through the EventBridge matcher, agrees with `evaluate`.
// Small value pools make equal and unequal values both frequent.
// ---------------------------------------------------------------------------------------------

const strings = ["prod", "dr", "", "timeout"];
const numbers = fc.integer({ min: -2, max: 6 });
const comparison: fc.Arbitrary<Comparison> = fc.oneof(
  fc.record({
    variable: fc.constant("Success" as const),
    op: fc.constantFrom("==" as const, "!=" as const),
    value: fc.boolean(),
  }),
  fc.record({
    variable: fc.constant("Changed" as const),
    op: fc.constantFrom("==" as const, "!=" as const),
    value: fc.boolean(),
  }),
  fc.record({
    variable: fc.constant("Mode" as const),
    op: fc.constantFrom("==" as const, "!=" as const),
    value: fc.constantFrom("automatic" as const, "on-demand" as const),
  }),
  fc.record({
    variable: fc.constant("Items" as const),
    op: fc.constantFrom("==" as const, "!=" as const, "<" as const, ">" as const),
    value: numbers,
  }),
  fc.record({
    variable: fc.constantFrom("Reason" as const, "Primary" as const, "Failover" as const),
    op: fc.constantFrom("==" as const, "!=" as const),
    value: fc.constantFrom(...strings),
  }),
);
const { condition } = fc.letrec<{ condition: Condition }>((tie) => ({
  condition: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    comparison,
    fc.record({ and: fc.array(tie("condition"), { minLength: 1, maxLength: 3 }) }),
    fc.record({ or: fc.array(tie("condition"), { minLength: 1, maxLength: 3 }) }),
  ),
}));
const detail: fc.Arbitrary<SyncEventDetail> = fc.record(
  {
    Success: fc.boolean(),
    Changed: fc.boolean(),
    Mode: fc.constantFrom("automatic" as const, "on-demand" as const),
    Primary: fc.constantFrom(...strings),
    Failover: fc.constantFrom(...strings),
    StartedAt: fc.constant("2026-01-01T00:00:00Z"),
    FinishedAt: fc.constant("2026-01-01T00:00:01Z"),
    Items: numbers,
    Reason: fc.constantFrom(...strings),
  },
  // Changed is on every published event (announce sets it); Reason is optional.
  {
    requiredKeys: [
      "Success",
      "Changed",
      "Mode",
      "Primary",
      "Failover",
      "StartedAt",
      "FinishedAt",
      "Items",
    ],
  },
);

describe("compiled patterns agree with the condition (property, R17)", () => {
  it("matchesPattern(compile(c), event) === evaluate(c, event.detail)", () => {
    fc.assert(
      fc.property(condition, fc.array(detail, { minLength: 1, maxLength: 20 }), (c, details) => {
        let pattern: ReturnType<typeof compileCondition>;
        try {
          pattern = compileCondition(c);
        } catch (error) {
          if (!(error instanceof ConditionError)) throw error;
          if (/too complex/.test(error.message)) return fc.pre(false);
          // "can never be true": no event may satisfy it.
          for (const d of details) expect(evaluate(c, d)).toBe(false);
          return;
        }
        expect(validatePattern(pattern)).toBeUndefined();
        expect(JSON.stringify(pattern).length).toBeLessThanOrEqual(MAX_PATTERN_LENGTH);
        for (const d of details) {
          expect(matchesPattern(pattern, envelope(d))).toBe(evaluate(c, d));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("the fixed examples", () => {
    const successFalse = compileCondition({ variable: "Success", op: "==", value: false });
    expect(matchesPattern(successFalse, envelope(failed))).toBe(true);
    expect(matchesPattern(successFalse, envelope(succeeded))).toBe(false);
  });
});
