/**
 * When a request is tried again: rate limits and brief outages (429, 502, 503, 504), and a 500,
 * for reads and for manifest PUTs alike (a PUT of the same bytes under the same tag is
 * idempotent: the registry ends where one PUT would leave it). At most two retries, after the
 * server's Retry-After (seconds or an HTTP date, RFC 9110 §10.2.3) when it gives one, else a short
 * exponential backoff; a Retry-After past the cap is not waited for at all.
 */

/**
 * 500 included: distribution's filesystem storage (the registry:2 image, Debian's docker-registry)
 * rewrites a manifest's data file in place when the same manifest is PUT under another tag, so a GET
 * racing a floating tag's move can fail with 500 once (seen here with three floating tags moved at once).
 */
const RETRYABLE_STATUSES = [429, 500, 502, 503, 504];
const MAX_RETRIES = 2;
/** The longest Retry-After a request waits for; a registry asking for more is reported, not obeyed early. */
const RETRY_AFTER_CAP_MS = 10_000;

/** Milliseconds Retry-After asks for (0 for a date in the past), or undefined when absent or unreadable. */
function retryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** What to do after attempt `attempt` (0-based) was answered `status` with `retryAfter`. */
export function retryDecision(
  status: number,
  retryAfter: string | undefined,
  attempt: number,
): { retry: false; reason?: string } | { retry: true; waitMs: number } {
  if (!RETRYABLE_STATUSES.includes(status) || attempt >= MAX_RETRIES) return { retry: false };
  const asked = retryAfterMs(retryAfter);
  if (asked !== undefined && asked > RETRY_AFTER_CAP_MS) {
    return {
      retry: false,
      reason: `asks to wait ${Math.ceil(asked / 1000)} s (Retry-After), more than the ${RETRY_AFTER_CAP_MS / 1000} s a request waits; try again later`,
    };
  }
  return { retry: true, waitMs: asked ?? 250 * 2 ** attempt };
}
