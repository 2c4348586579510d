import {
  errorAnswer,
  type HttpEvent,
  type HttpResult,
  parseBasic,
  refuseCrossSite,
} from "../../functions/http.ts";
import { credentialsMatch } from "../../shared/auth/admin.ts";
import { AppError, unauthorized } from "../../shared/errors.ts";
import type { Credentials } from "../../shared/ports.ts";

/**
 * The admin API's checks for local mode's own routes (`/_local/...`), which its router does not
 * serve: the admin's Basic credentials, then the rules against other sites' pages
 * (refuseCrossSite). The refusal, answered as the admin API would, or undefined to go on.
 */
export function refusal(event: HttpEvent, admin: Credentials): HttpResult | undefined {
  try {
    const given = parseBasic(event.headers.authorization);
    if (!given || !credentialsMatch(given, admin)) throw unauthorized();
    refuseCrossSite(event);
    return undefined;
  } catch (error) {
    if (error instanceof AppError) return errorAnswer(error);
    throw error;
  }
}
