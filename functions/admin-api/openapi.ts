import { z } from "zod";
import { errorResponse } from "./responses.ts";
import { routeList, type TableRoute } from "./routes.ts";

type JsonSchema = Record<string, unknown>;

/** Draft 2020-12, OpenAPI 3.1's dialect; requests as the caller writes them (before defaults). */
function schemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io,
    unrepresentable: "any",
  }) as JsonSchema;
  return rest;
}

const ERROR_REF = { $ref: "#/components/schemas/Error" };
const errorAnswer = (description: string) => ({
  description,
  content: { "application/json": { schema: ERROR_REF } },
});

function parameters(route: TableRoute) {
  const of = (where: "path" | "query", schema: z.ZodObject | undefined) => {
    if (!schema) return [];
    const json = schemaOf(schema, "input");
    const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((json.required ?? []) as string[]);
    return Object.entries(properties).map(([name, property]) => ({
      name,
      in: where,
      required: where === "path" || required.has(name),
      schema: property,
    }));
  };
  return [...of("path", route.params), ...of("query", route.query)];
}

function operation(route: TableRoute) {
  const mediaType = route.mediaType ?? "application/json";
  const success = {
    description: route.summary,
    ...(route.response
      ? { content: { [mediaType]: { schema: schemaOf(route.response, "output") } } }
      : route.mediaType
        ? { content: { [mediaType]: { schema: { type: "string" } } } }
        : {}),
  };
  const params = parameters(route);
  return {
    operationId: route.key,
    summary: route.summary,
    tags: [route.tag],
    security: route.auth === "admin" ? [{ basic: [] }] : [],
    ...(params.length ? { parameters: params } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: schemaOf(route.body, "input") } },
          },
        }
      : {}),
    responses: {
      [String(route.status)]: success,
      ...(route.created ? { "201": { ...success, description: "Created" } } : {}),
      ...(route.body || params.length || route.errors?.[400]
        ? {
            "400": errorAnswer(
              route.errors?.[400] ?? "Bad input: the message names each bad field",
            ),
          }
        : {}),
      ...(route.auth === "admin" ? { "401": errorAnswer("No or wrong Basic credentials") } : {}),
      ...(route.method !== "GET"
        ? { "403": errorAnswer("Sent by a page of another site (its Origin is not this API's)") }
        : {}),
      ...(route.errors?.[404] ? { "404": errorAnswer(route.errors[404]) } : {}),
      ...(route.errors?.[409] ? { "409": errorAnswer(route.errors[409]) } : {}),
      "405": errorAnswer("The path exists, the method does not (see the Allow header)"),
      // Every route refuses a body that is not JSON (functions/http.ts, refuseCrossSite).
      "415": errorAnswer("A body that is not application/json"),
      "5XX": errorAnswer("A fault of this server or of its peer, without details"),
    },
  };
}

let cached: Record<string, unknown> | undefined;

/**
 * The admin API as OpenAPI 3.1, generated from the route table (./routes.ts) and its zod
 * schemas, never written by hand: `GET /api/openapi.json` and `mft-failover openapi`.
 */
export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routeList()) {
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation(route) };
  }
  cached = {
    openapi: "3.1.0",
    info: {
      title: "mft-failover admin API",
      version: "1",
      description:
        'The admin API of one mft-failover server (production or its failover). Basic auth with the admin credentials on every route but the public ones; errors are `{"error":{"code","message"}}`.',
    },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    paths,
    components: {
      securitySchemes: { basic: { type: "http", scheme: "basic" } },
      schemas: { Error: schemaOf(errorResponse, "output") },
    },
  };
  return cached;
}
