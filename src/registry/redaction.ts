/**
 * The one redaction step every message built from a registry's answer goes through, before it is cut
 * to length, logged, planned or posted as a pull-request comment.
 *
 * Two halves. The known secrets (the password, the `user:password` pair, every bearer token the
 * client received) are removed in every form a server or a proxy could echo them: as they are,
 * JSON-escaped (JavaScript's and Go's escaping: distribution is written in Go), URL- and form-encoded
 * with either case of hex digits, and base64 or base64url at any byte offset (the pair inside
 * `Basic …`, a token inside a base64 JSON body). Then anything credential-like whoever it belongs to:
 * Authorization values, `Basic …`/`Bearer …`, `user:password@` in URLs, JWTs, token and password
 * fields. The result is one line.
 *
 * Hand-written: no maintained npm package redacts known values in encoded forms; the patterns are
 * few and each is tested (test/registry/redaction.test.ts, and the independent leak scanner in
 * test/support/leak-scanner.ts over every output of the fault tests).
 *
 * Self-contained (no imports from the rest of the project): the floating-tag provider that uses the
 * registry client is serialised by Pulumi into the state and runs without TypeScript.
 */

/** Values this short would blank out ordinary words; no real password or token is that short. */
const MIN_SECRET_LENGTH = 4;
/** A base64 run this short could match by chance; a secret of 4+ bytes always has one at least this long. */
const MIN_BASE64_RUN = 4;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");

/** A literal form, except that each `%XY` escape matches with its hex digits in either case. */
function percentPattern(encoded: string): string {
  return encoded
    .split(/(%[0-9A-Fa-f]{2})/)
    .map((part) =>
      /^%[0-9A-Fa-f]{2}$/.test(part)
        ? `%${[...part.slice(1)].map((digit) => (/\d/.test(digit) ? digit : `[${digit.toLowerCase()}${digit.toUpperCase()}]`)).join("")}`
        : escapeRegExp(part),
    )
    .join("");
}

/**
 * Each character as itself or as its percent escapes in either case (a space also as `+`): encoders
 * differ in what they leave alone (a URL's user info keeps `%`, Go escapes `!`, a proxy may escape
 * every byte), so no single encoding covers them all.
 */
function anyPercentPattern(secret: string): string {
  const hexDigit = (digit: string) => (/\d/.test(digit) ? digit : `[${digit}${digit.toUpperCase()}]`);
  return [...secret]
    .map((character) => {
      const escapes = [...Buffer.from(character, "utf8")]
        .map((byte) => `%${[...byte.toString(16).padStart(2, "0")].map(hexDigit).join("")}`)
        .join("");
      return `(?:${escapeRegExp(character)}${character === " " ? "|\\+" : ""}|${escapes})`;
    })
    .join("");
}

/**
 * The base64 characters that depend on the secret's bytes alone when it starts `offset` bytes into a
 * longer value: the first characters mix in the bytes before it, the last one the bytes after it.
 */
function base64Runs(secret: Buffer, alphabet: "base64" | "base64url"): string[] {
  const runs: string[] = [];
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), secret])
      .toString(alphabet)
      .replace(/=+$/, "");
    const skip = [0, 2, 3][offset];
    const tail = (offset + secret.length) % 3 === 0 ? 0 : 1;
    const run = encoded.slice(skip, encoded.length - tail);
    if (run.length >= MIN_BASE64_RUN) runs.push(run);
  }
  return runs;
}

function goJsonEscape(text: string): string {
  return JSON.stringify(text).slice(1, -1).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
}

/** Regular-expression sources for every form of one secret. */
function secretPatterns(secret: string): string[] {
  // A secret of several lines may be quoted a line at a time, or with its line breaks turned into spaces.
  const lines = secret.split(/\r?\n/).filter((line) => line.length >= MIN_SECRET_LENGTH && line !== secret);
  const texts = [
    ...new Set([
      secret,
      JSON.stringify(secret).slice(1, -1),
      JSON.stringify(secret).slice(1, -1).replace(/\//g, "\\/"),
      goJsonEscape(secret),
      ...(lines.length > 0 ? [secret.replace(/\r?\n/g, " "), ...lines] : []),
    ]),
  ];
  // Each text form base64-encoded too (a JSON body holding the secret, then encoded), as a run with
  // the character after it that it shares with the next byte, and any padding.
  const base64 = texts.flatMap((text) => {
    const bytes = Buffer.from(text, "utf8");
    return [
      ...base64Runs(bytes, "base64").map((run) => `${escapeRegExp(run)}[A-Za-z0-9+/]?=*`),
      ...base64Runs(bytes, "base64url").map((run) => `${escapeRegExp(run)}[A-Za-z0-9_-]?=*`),
    ];
  });
  const percent = [
    ...[encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)].map(percentPattern),
    anyPercentPattern(secret),
  ];
  return [...texts.map(escapeRegExp), ...base64, ...percent];
}

/** Removes every form of the known secrets, and nothing else. Longer forms first: one that contains another goes whole. */
function redactSecrets(text: string, secrets: readonly string[]): string {
  const patterns = [
    ...new Set(secrets.filter((secret) => secret.length >= MIN_SECRET_LENGTH).flatMap(secretPatterns)),
  ].sort((a, b) => b.length - a.length);
  return patterns.length > 0 ? text.replace(new RegExp(patterns.join("|"), "g"), "[redacted]") : text;
}

/** Removes the known secrets in every form, then anything credential-like; one line. */
export function redactCredentials(text: string, secrets: readonly string[] = []): string {
  return redactSecrets(text, secrets)
    .replace(/(authorization["']?\s*[:=]\s*["']?)[^\r\n"',}]*/gi, "$1[redacted]")
    .replace(/\b(basic|bearer)\s+[A-Za-z0-9+/=._~-]{4,}/gi, "$1 [redacted]")
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@"']+@/gi, "$1[redacted]@")
    .replace(/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, "[redacted JWT]")
    .replace(
      /(["'](?:access_token|refresh_token|token|password|secret)["']\s*:\s*)("[^"]*"|'[^']*'|[^\s,}]+)/gi,
      "$1[redacted]",
    )
    .replace(/([?&](?:access_token|refresh_token|token|password)=)[^&\s"']+/gi, "$1[redacted]")
    .replace(/\s*[\r\n]+\s*/g, " ");
}

/** At most `max` characters of text that is already redacted; the cut is marked. */
export function excerpt(redacted: string, max: number): string {
  return redacted.length > max ? `${redacted.slice(0, max - 3)}...` : redacted;
}

/** A short, one-line rendering of what a registry sent, for error messages: redacted first, then cut. */
export function describeShape(value: unknown, secrets: readonly string[] = []): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return excerpt(redactCredentials(text, secrets), 120);
}

/**
 * The secrets one client knows, for redaction: its password and basic pair from the start, and every
 * token it receives, added as it arrives.
 */
export class KnownSecrets {
  private readonly values: string[];

  // Every field is assigned in the constructor: Pulumi's closure serialiser rebuilds a class from
  // its constructor's source, and field initializers outside it would be lost.
  constructor(credentials?: { username: string; password: string }) {
    this.values = credentials ? [credentials.password, `${credentials.username}:${credentials.password}`] : [];
  }

  add(secret: string): void {
    if (!this.values.includes(secret)) this.values.push(secret);
  }

  list(): readonly string[] {
    return this.values;
  }

  redact(text: string): string {
    return redactCredentials(text, this.values);
  }

  /** Only the known secrets' forms, nothing else changed: for values that are data, such as image labels. */
  redactValue(text: string): string {
    return redactSecrets(text, this.values);
  }
}
