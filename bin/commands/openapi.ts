import type { Command } from "commander";
import type { Cli } from "../context.ts";

/** The admin API's OpenAPI document, built from the same schemas the API validates with. */
export function register(program: Command, _cli: Cli): void {
  program
    .command("openapi")
    .description("print the admin API's OpenAPI 3.1 document (JSON); needs no server")
    .action(async () => {
      // Loaded here only: it pulls in every schema, which the other commands do not need.
      const { openApiDocument } = await import("../../functions/admin-api/openapi.ts");
      console.log(JSON.stringify(openApiDocument(), null, 2));
    });
}
