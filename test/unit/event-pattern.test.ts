import { describe, expect, it } from "vitest";
import { type EventPattern, matchesPattern, validatePattern } from "../../shared/events/pattern.ts";

// Cases follow the examples of the Amazon EventBridge user guide; each group names its section.
// "Operators" is short for "Comparison operators for use in event patterns in Amazon EventBridge".
type Case = [name: string, pattern: EventPattern, event: unknown, matches: boolean];

// "Creating Amazon EventBridge event patterns": the sample EC2 event.
const ec2Event = {
  version: "0",
  id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  source: "aws.ec2",
  account: "111122223333",
  time: "2017-12-22T18:43:48Z",
  region: "us-west-1",
  resources: ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  detail: { "instance-id": "i-1234567890abcdef0", state: "terminated" },
};

// Operators, "Numeric matching" / "Complex example": the event the numeric examples are written for.
const countsEvent = {
  time: "2017-10-02T16:24:49Z",
  detail: {
    "c-count": 5,
    "d-count": 3,
    "x-limit": 301.8,
    "source-ip": "10.0.0.33",
    state: "running",
  },
};

const structure: Case[] = [
  // "Creating Amazon EventBridge event patterns"
  [
    "all fields match (AND)",
    {
      source: ["aws.ec2"],
      "detail-type": ["EC2 Instance State-change Notification"],
      detail: { state: ["terminated"] },
    },
    ec2Event,
    true,
  ],
  ["one field differs", { source: ["aws.ec2"], detail: { state: ["running"] } }, ec2Event, false],
  [
    "values in a leaf are alternatives (OR)",
    { source: ["aws.fargate", "aws.ec2"] },
    ec2Event,
    true,
  ],
  ["a field the event lacks", { "detail-type": ["x"], nope: ["aws.ec2"] }, ec2Event, false],
  ["matching is case-sensitive", { source: ["AWS.EC2"] }, ec2Event, false],
  ["a nested pattern needs the nested field", { detail: { state: ["x"] } }, { state: "x" }, false],
  // "Arrays in Amazon EventBridge event patterns": arrays match on a non-empty intersection.
  [
    "event array intersects the pattern array",
    {
      resources: [
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f",
      ],
    },
    {
      resources: [
        "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
      ],
    },
    true,
  ],
  [
    "event array disjoint from the pattern array",
    { resources: ["arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f"] },
    { resources: ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"] },
    false,
  ],
  // aws/event-ruler README, "JSON Array Matching": objects inside arrays, matched per element.
  [
    "array of objects: one element matches",
    { employees: { firstName: ["Anna"] } },
    { employees: [{ firstName: "John" }, { firstName: "Anna", lastName: "Smith" }] },
    true,
  ],
  [
    "array of objects: fields from different elements do not combine",
    { employees: { firstName: ["Anna"], lastName: ["Jones"] } },
    {
      employees: [
        [{ firstName: "Anna", lastName: "Smith" }],
        [{ firstName: "Peter", lastName: "Jones" }],
      ],
    },
    false,
  ],
  // "Matching events on null values and empty strings"
  [
    'empty string matches ""',
    { detail: { eventVersion: [""] } },
    { detail: { eventVersion: "" } },
    true,
  ],
  [
    "null matches null",
    { detail: { responseElements: [null] } },
    { detail: { responseElements: null } },
    true,
  ],
  ["empty string does not match null", { detail: { r: [""] } }, { detail: { r: null } }, false],
  [
    "null does not match a missing field",
    { detail: { responseElements: [null] } },
    { detail: {} },
    false,
  ],
  ['literals are typed: 5 is not "5"', { n: [5] }, { n: "5" }, false],
  ["booleans match exactly", { flag: [true] }, { flag: true }, true],
];

const strings: Case[] = [
  // Operators, "Prefix matching"
  ["prefix", { time: [{ prefix: "2017-10-02" }] }, { time: "2017-10-02T18:43:48Z" }, true],
  [
    "prefix: other value",
    { time: [{ prefix: "2017-10-02" }] },
    { time: "2017-10-03T00:00:00Z" },
    false,
  ],
  ["prefix: only strings", { n: [{ prefix: "12" }] }, { n: 123 }, false],
  // Operators, "Prefix matching while ignoring case"
  ...["EventBridge", "EVENTBRIDGE", "eventbridge"].map(
    (service): Case => [
      `prefix ignoring case: ${service}`,
      { detail: { service: [{ prefix: { "equals-ignore-case": "EventB" } }] } },
      { detail: { service } },
      true,
    ],
  ),
  [
    "prefix ignoring case: other value",
    { detail: { service: [{ prefix: { "equals-ignore-case": "EventB" } }] } },
    { detail: { service: "Lambda" } },
    false,
  ],
  // Operators, "Suffix matching"
  ["suffix", { FileName: [{ suffix: ".png" }] }, { FileName: "image.png" }, true],
  ["suffix: case-sensitive", { FileName: [{ suffix: ".png" }] }, { FileName: "image.PNG" }, false],
  // Operators, "Suffix matching while ignoring case"
  [
    "suffix ignoring case",
    { detail: { FileName: [{ suffix: { "equals-ignore-case": ".png" } }] } },
    { detail: { FileName: "IMAGE.PNG" } },
    true,
  ],
  [
    "suffix ignoring case: other extension",
    { detail: { FileName: [{ suffix: { "equals-ignore-case": ".png" } }] } },
    { detail: { FileName: "image.jpg" } },
    false,
  ],
  // Operators, "Equals-ignore-case matching"
  [
    "equals-ignore-case",
    { "detail-type": [{ "equals-ignore-case": "ec2 instance state-change notification" }] },
    ec2Event,
    true,
  ],
  [
    "equals-ignore-case: whole value",
    { Name: [{ "equals-ignore-case": "alice" }] },
    { Name: "Alicia" },
    false,
  ],
  // Operators, "Matching using wildcards"
  ["wildcard", { FileName: [{ wildcard: "dir/*.png" }] }, { FileName: "dir/photo.png" }, true],
  [
    "wildcard: * matches nothing",
    { FileName: [{ wildcard: "dir/*.png" }] },
    { FileName: "dir/.png" },
    true,
  ],
  [
    "wildcard: * crosses /",
    { FileName: [{ wildcard: "dir/*.png" }] },
    { FileName: "dir/a/b.png" },
    true,
  ],
  [
    "wildcard: anchored",
    { FileName: [{ wildcard: "dir/*.png" }] },
    { FileName: "dir/a.png.bak" },
    false,
  ],
  [
    "wildcard: other folder",
    { FileName: [{ wildcard: "dir/*.png" }] },
    { FileName: "lib/a.png" },
    false,
  ],
  [
    "wildcard: several",
    { EventBusArn: [{ wildcard: "arn:aws:events:us-east-1:*:event-bus/*" }] },
    { EventBusArn: "arn:aws:events:us-east-1:123456789012:event-bus/default" },
    true,
  ],
  ["wildcard: \\* is a literal *", { k: [{ wildcard: "a\\*b" }] }, { k: "a*b" }, true],
  ["wildcard: \\* is not a wildcard", { k: [{ wildcard: "a\\*b" }] }, { k: "axb" }, false],
  ["wildcard: regex characters are literal", { k: [{ wildcard: "a.c*" }] }, { k: "abcd" }, false],
];

const anythingBut: Case[] = [
  // Operators, "Anything-but matching"
  [
    "anything-but string",
    { detail: { state: [{ "anything-but": "initializing" }] } },
    { detail: { state: "running" } },
    true,
  ],
  [
    "anything-but string: the excluded value",
    { detail: { state: [{ "anything-but": "initializing" }] } },
    { detail: { state: "initializing" } },
    false,
  ],
  [
    "anything-but: a missing field does not match",
    { detail: { state: [{ "anything-but": "initializing" }] } },
    { detail: {} },
    false,
  ],
  [
    "anything-but: null is a value other than the excluded one",
    { detail: { state: [{ "anything-but": "initializing" }] } },
    { detail: { state: null } },
    true,
  ],
  ["anything-but number", { detail: { "x-limit": [{ "anything-but": 123 }] } }, countsEvent, true],
  ["anything-but number: excluded", { x: [{ "anything-but": 123 }] }, { x: 1.23e2 }, false],
  [
    "anything-but string list",
    { detail: { state: [{ "anything-but": ["stopped", "overloaded"] }] } },
    { detail: { state: "running" } },
    true,
  ],
  [
    "anything-but string list: excluded",
    { detail: { state: [{ "anything-but": ["stopped", "overloaded"] }] } },
    { detail: { state: "overloaded" } },
    false,
  ],
  [
    "anything-but number list",
    { detail: { "x-limit": [{ "anything-but": [100, 200, 300] }] } },
    countsEvent,
    true,
  ],
  [
    "anything-but number list: excluded, compared numerically",
    { detail: { "x-limit": [{ "anything-but": [100, 200, 300] }] } },
    { detail: { "x-limit": 3.0e2 } },
    false,
  ],
  [
    "anything-but: an event array matches if any element is not excluded",
    { state: [{ "anything-but": "stopped" }] },
    { state: ["stopped", "running"] },
    true,
  ],
  // Operators, "Anything-but matching" with prefix
  [
    "anything-but prefix",
    { detail: { state: [{ "anything-but": { prefix: "init" } }] } },
    { detail: { state: "running" } },
    true,
  ],
  [
    "anything-but prefix: excluded",
    { detail: { state: [{ "anything-but": { prefix: "init" } }] } },
    { detail: { state: "initializing" } },
    false,
  ],
  // Operators, "Anything-but matching" with suffix
  [
    "anything-but suffix",
    { detail: { FileName: [{ "anything-but": { suffix: ".txt" } }] } },
    { detail: { FileName: "notes.md" } },
    true,
  ],
  [
    "anything-but suffix: excluded",
    { detail: { FileName: [{ "anything-but": { suffix: ".txt" } }] } },
    { detail: { FileName: "notes.txt" } },
    false,
  ],
  // Operators, "Anything-but matching" ignoring case
  [
    "anything-but equals-ignore-case list",
    {
      detail: {
        state: [{ "anything-but": { "equals-ignore-case": ["initializing", "stopped"] } }],
      },
    },
    { detail: { state: "Running" } },
    true,
  ],
  [
    "anything-but equals-ignore-case list: excluded in any case",
    {
      detail: {
        state: [{ "anything-but": { "equals-ignore-case": ["initializing", "stopped"] } }],
      },
    },
    { detail: { state: "STOPPED" } },
    false,
  ],
  // Operators, "Anything-but matching" using a wildcard
  [
    "anything-but wildcard",
    { detail: { FilePath: [{ "anything-but": { wildcard: "*/lib/*" } }] } },
    { detail: { FilePath: "/usr/bin/env" } },
    true,
  ],
  [
    "anything-but wildcard: excluded",
    { detail: { FilePath: [{ "anything-but": { wildcard: "*/lib/*" } }] } },
    { detail: { FilePath: "/usr/lib/libc.so" } },
    false,
  ],
  [
    "anything-but wildcard list: excluded",
    { detail: { FilePath: [{ "anything-but": { wildcard: ["*/lib/*", "*/bin/*"] } }] } },
    { detail: { FilePath: "/usr/bin/env" } },
    false,
  ],
];

const numeric: Case[] = [
  // Operators, "Numeric matching"
  [
    "all numeric conditions hold",
    {
      detail: {
        "c-count": [{ numeric: [">", 0, "<=", 5] }],
        "d-count": [{ numeric: ["<", 10] }],
        "x-limit": [{ numeric: ["=", 3.018e2] }],
      },
    },
    countsEvent,
    true,
  ],
  ["range: upper bound inclusive", { n: [{ numeric: [">", 0, "<=", 5] }] }, { n: 5 }, true],
  ["range: lower bound exclusive", { n: [{ numeric: [">", 0, "<=", 5] }] }, { n: 0 }, false],
  ["range: above", { n: [{ numeric: [">", 0, "<=", 5] }] }, { n: 5.000001 }, false],
  [">=", { n: [{ numeric: [">=", 10] }] }, { n: 10 }, true],
  ["<", { n: [{ numeric: ["<", 10] }] }, { n: 10 }, false],
  ["= compares numerically", { n: [{ numeric: ["=", 300] }] }, { n: 3.0e2 }, true],
  ["numeric: only JSON numbers", { n: [{ numeric: ["=", 300] }] }, { n: "300" }, false],
  ["exact number matches numerically", { n: [300] }, { n: 3.0e2 }, true],
];

const ipAndExists: Case[] = [
  // Operators, "IP address matching"
  [
    "cidr IPv4",
    { detail: { sourceIPAddress: [{ cidr: "10.0.0.0/24" }] } },
    { detail: { sourceIPAddress: "10.0.0.255" } },
    true,
  ],
  [
    "cidr IPv4: outside",
    { detail: { sourceIPAddress: [{ cidr: "10.0.0.0/24" }] } },
    { detail: { sourceIPAddress: "10.0.1.0" } },
    false,
  ],
  ["cidr IPv6", { ip: [{ cidr: "2001:db8::/32" }] }, { ip: "2001:db8:1234::1" }, true],
  ["cidr IPv6: outside", { ip: [{ cidr: "2001:db8::/32" }] }, { ip: "2001:db9::1" }, false],
  ["cidr: not an address", { ip: [{ cidr: "10.0.0.0/24" }] }, { ip: "10.0.0.x" }, false],
  [
    "cidr: families do not mix",
    { ip: [{ cidr: "10.0.0.0/24" }] },
    { ip: "::ffff:10.0.0.1" },
    false,
  ],
  // Operators, "Exists matching"
  ["exists true", { detail: { state: [{ exists: true }] } }, ec2Event, true],
  [
    "exists true: an array of values exists",
    { detail: { state: [{ exists: true }] } },
    { detail: { state: ["initializing", "running"] } },
    true,
  ],
  [
    "exists true: field absent",
    { detail: { state: [{ exists: true }] } },
    { detail: { "c-count": { c1: 100 } } },
    false,
  ],
  ["exists false: field absent", { detail: { "c-count": [{ exists: false }] } }, ec2Event, true],
  [
    "exists false: field present",
    { detail: { "c-count": [{ exists: false }] } },
    { detail: { "c-count": 3 } },
    false,
  ],
  [
    "exists false: an intermediate node is not a leaf",
    { detail: { "c-count": [{ exists: false }] } },
    { detail: { state: ["initializing", "running"], "c-count": { c1: 100 } } },
    true,
  ],
  [
    "exists true: an intermediate node is not a leaf",
    { detail: { "c-count": [{ exists: true }] } },
    { detail: { "c-count": { c1: 100 } } },
    false,
  ],
  ["exists false: parent absent too", { detail: { "c-count": [{ exists: false }] } }, {}, true],
  ["exists true: null is present", { r: [{ exists: true }] }, { r: null }, true],
];

const combined: Case[] = [
  // Operators, "Complex example with multiple matching"
  [
    "complex example",
    {
      time: [{ prefix: "2017-10-02" }],
      detail: {
        state: [{ "anything-but": "initializing" }],
        "c-count": [{ numeric: [">", 0, "<=", 5] }],
        "d-count": [{ numeric: ["<", 10] }],
        "x-limit": [{ "anything-but": [100, 200, 300] }],
        "source-ip": [{ cidr: "10.0.0.0/8" }],
      },
    },
    countsEvent,
    true,
  ],
  [
    "complex example: one condition fails",
    {
      time: [{ prefix: "2017-10-02" }],
      detail: { state: [{ "anything-but": "running" }], "c-count": [{ numeric: [">", 0] }] },
    },
    countsEvent,
    false,
  ],
  // Operators, "Complex example with $or matching"
  ...(
    [
      [{ source: "aws.cloudwatch", metricName: "ReadLatency" }, true],
      [{ source: "aws.cloudwatch", namespace: "AWS/ES" }, true],
      [{ source: "aws.cloudwatch", namespace: "AWS/Lambda" }, false],
      [{ source: "aws.ec2", metricName: "CPUUtilization" }, false],
    ] as const
  ).map(
    ([event, matches]): Case => [
      `$or: ${JSON.stringify(event)}`,
      {
        source: ["aws.cloudwatch"],
        $or: [
          { metricName: ["CPUUtilization", "ReadLatency"] },
          { namespace: ["AWS/EC2", "AWS/ES"] },
        ],
      },
      event,
      matches,
    ],
  ),
  [
    "$or branches may hold several fields and nest",
    {
      detail: {
        $or: [
          { "c-count": [{ numeric: [">", 10] }] },
          { state: ["running"], $or: [{ "d-count": [3] }, { "x-limit": [0] }] },
        ],
      },
    },
    countsEvent,
    true,
  ],
  [
    "$or: no branch matches",
    { $or: [{ Location: ["New York"] }, { Day: ["Monday"] }] },
    { Location: "Boston", Day: "Tuesday" },
    false,
  ],
  [
    "leaf alternatives mix operators",
    { FileName: [{ suffix: ".png" }, { prefix: "README" }, { exists: false }] },
    { FileName: "README.md" },
    true,
  ],
];

describe("matchesPattern", () => {
  it.each([...structure, ...strings, ...anythingBut, ...numeric, ...ipAndExists, ...combined])(
    "%s",
    (_name, pattern, event, matches) => {
      expect(matchesPattern(pattern, event)).toBe(matches);
    },
  );
});

describe("validatePattern", () => {
  const docPatterns = [
    ...structure,
    ...strings,
    ...anythingBut,
    ...numeric,
    ...ipAndExists,
    ...combined,
  ];

  it.each(docPatterns)("accepts the pattern of %s", (_name, pattern) => {
    expect(validatePattern(pattern)).toBeUndefined();
  });

  it.each([
    ["a non-object pattern", ["aws.ec2"], /^pattern: must be a JSON object/],
    ["an empty pattern", {}, /^pattern: empty objects/],
    [
      "a leaf that is not an array",
      { source: "aws.ec2" },
      /^source: must be an object or an array/,
    ],
    ["a nested leaf that is a number", { detail: { n: 5 } }, /^detail\.n: must be an object/],
    ["an empty leaf", { detail: { state: [] } }, /^detail\.state: empty arrays/],
    ["an empty nested object", { detail: {} }, /^detail: empty objects/],
    ["an array inside a leaf", { s: [["a"]] }, /^s\[0\]: must be a string, number/],
    [
      "an unknown operator",
      { detail: { state: [{ contains: "x" }] } },
      /^detail\.state\[0\]: contains: unknown operator/,
    ],
    [
      "two operators in one object",
      { s: [{ prefix: "a", suffix: "b" }] },
      /^s\[0\]: .*exactly one key/,
    ],
    ["a non-string prefix", { s: [{ prefix: 1 }] }, /^s\[0\]: prefix: must be a string/],
    [
      "a bad prefix ignore-case",
      { s: [{ prefix: { "equals-ignore-case": 1 } }] },
      /^s\[0\]: prefix:/,
    ],
    ["a non-string suffix", { s: [{ suffix: ["a"] }] }, /^s\[0\]: suffix:/],
    [
      "a non-string equals-ignore-case",
      { s: [{ "equals-ignore-case": 1 }] },
      /equals-ignore-case: must be a string/,
    ],
    ["consecutive wildcards", { s: [{ wildcard: "a**b" }] }, /^s\[0\]: wildcard: consecutive/],
    ["a bad wildcard escape", { s: [{ wildcard: "a\\b" }] }, /^s\[0\]: wildcard: a backslash/],
    [
      "an unknown numeric operator",
      { n: [{ numeric: ["!=", 5] }] },
      /^n\[0\]: numeric: unknown numeric operator "!="/,
    ],
    [
      "a non-numeric numeric value",
      { n: [{ numeric: [">", "5"] }] },
      /^n\[0\]: numeric: the value of > must be a number/,
    ],
    [
      "a numeric expression of three terms",
      { n: [{ numeric: [">", 0, "<"] }] },
      /^n\[0\]: numeric: must be/,
    ],
    [
      "a numeric range upper bound first",
      { n: [{ numeric: ["<", 10, ">", 0] }] },
      /must start with > or >=/,
    ],
    [
      "a numeric range with two lower bounds",
      { n: [{ numeric: [">", 0, ">", 5] }] },
      /must end with < or <=/,
    ],
    ["an empty numeric range", { n: [{ numeric: [">", 5, "<", 5] }] }, /lower bound must be less/],
    ["numeric that is not an array", { n: [{ numeric: 5 }] }, /^n\[0\]: numeric: must be/],
    [
      "exists that is not a boolean",
      { s: [{ exists: "true" }] },
      /^s\[0\]: exists: must be true or false/,
    ],
    [
      "a CIDR prefix too long",
      { ip: [{ cidr: "10.0.0.0/33" }] },
      /^ip\[0\]: cidr: invalid CIDR block "10\.0\.0\.0\/33"/,
    ],
    ["a CIDR without a prefix length", { ip: [{ cidr: "10.0.0.0" }] }, /^ip\[0\]: cidr: invalid/],
    ["a CIDR that is not an address", { ip: [{ cidr: "ten/8" }] }, /^ip\[0\]: cidr: invalid/],
    [
      "an IPv6 CIDR prefix too long",
      { ip: [{ cidr: "2001:db8::/129" }] },
      /^ip\[0\]: cidr: invalid/,
    ],
    [
      "anything-but mixing strings and numbers",
      { s: [{ "anything-but": ["a", 1] }] },
      /anything-but: a list must hold only/,
    ],
    [
      "an empty anything-but list",
      { s: [{ "anything-but": [] }] },
      /anything-but: a list must hold only/,
    ],
    ["anything-but null", { s: [{ "anything-but": null }] }, /^s\[0\]: anything-but: must be/],
    [
      "anything-but an unknown operator",
      { s: [{ "anything-but": { numeric: [">", 1] } }] },
      /^s\[0\]: anything-but: must be/,
    ],
    [
      "anything-but an empty prefix",
      { s: [{ "anything-but": { prefix: "" } }] },
      /anything-but: prefix: must not be empty/,
    ],
    [
      "anything-but a bad wildcard",
      { s: [{ "anything-but": { wildcard: ["*/lib/*", "**"] } }] },
      /anything-but: wildcard: consecutive/,
    ],
    [
      "anything-but ignore-case numbers",
      { s: [{ "anything-but": { "equals-ignore-case": [1] } }] },
      /equals-ignore-case: must be a string or a list/,
    ],
    ["$or that is not an array", { $or: { a: ["x"] } }, /^\$or: must be an array of at least two/],
    ["$or with one branch", { $or: [{ a: ["x"] }] }, /^\$or: must be an array of at least two/],
    [
      "$or with a non-object branch",
      { $or: [{ a: ["x"] }, ["b"]] },
      /^\$or\[1\]: must be a pattern object/,
    ],
    [
      "an error inside a $or branch",
      { detail: { $or: [{ a: ["x"] }, { b: "y" }] } },
      /^detail\.\$or\[1\]\.b: must be/,
    ],
  ])("rejects %s", (_name, pattern, error) => {
    expect(validatePattern(pattern)).toMatch(error);
  });
});
