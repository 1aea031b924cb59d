/**
 * The one redaction step: every form a known secret can take in a registry's answer is removed
 * before any message is cut, and the leak scanner (test/support/leak-scanner.ts, written apart from
 * the redaction) finds nothing afterwards.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeShape, RegistryError, redactCredentials, sha256Digest } from "../../src/registry/client";
import { assertNoLeaks, findLeaks } from "../support/leak-scanner";

const USER = "release-bot";
const PASSWORD = "Pa:ss@w%rd\nl2!Zq";
const PAIR = `${USER}:${PASSWORD}`;
const secrets = [PASSWORD, PAIR];
/** What the scanner looks for: the password in fragments, the pair whole (its user name alone is no secret). */
const known = [PASSWORD, { whole: PAIR }];

function userInfoUrl(password: string): string {
  const url = new URL("https://registry.example/v2/");
  url.username = USER;
  url.password = password;
  return url.href;
}
const everyBytePercent = (text: string) =>
  [...Buffer.from(text, "utf8")].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join("");

describe("redactCredentials: every form of a known secret", () => {
  const lower = (text: string) => text.replace(/%[0-9A-F]{2}/g, (percent) => percent.toLowerCase());
  const forms: Array<[string, string]> = [
    ["plain", PASSWORD],
    ["JSON-escaped", JSON.stringify({ pass: PASSWORD })],
    ["URL-encoded, upper case", encodeURIComponent(PASSWORD)],
    ["URL-encoded, lower case", lower(encodeURIComponent(PASSWORD))],
    ["URL-encoded, mixed case", encodeURIComponent(PASSWORD).replace("%3A", "%3a")],
    ["form-encoded", new URLSearchParams({ password: PASSWORD }).toString()],
    ["form-encoded, lower case", lower(new URLSearchParams({ password: PASSWORD }).toString())],
    ["base64 of the pair", Buffer.from(PAIR).toString("base64")],
    ["base64url of the pair", Buffer.from(PAIR).toString("base64url")],
    ["base64 of the password", Buffer.from(PASSWORD).toString("base64")],
    ["base64url of the password", Buffer.from(PASSWORD).toString("base64url")],
    ["base64 of a JSON body holding the pair", Buffer.from(JSON.stringify({ auth: PAIR })).toString("base64")],
    ["base64url of a value one byte into it", Buffer.from(`x${PASSWORD}y`).toString("base64url")],
    // Percent-encoders differ in which characters they leave alone: a URL's user info keeps `%` and
    // `!` as they are, Go's url package escapes `!`, a proxy may escape every byte.
    ["in a URL's user info, as a WHATWG URL writes it", userInfoUrl(PASSWORD)],
    ["with every byte percent-encoded", everyBytePercent(PASSWORD)],
    ["with `!` percent-encoded too, as Go's url package does", encodeURIComponent(PASSWORD).replace("!", "%21")],
  ];
  for (const [name, form] of forms) {
    it(`removes the password ${name}`, () => {
      const text = `denied: ${form} (request 42)`;
      assert.ok(findLeaks({ before: text }, known).length > 0, "the scanner must see the secret before redaction");
      const redacted = redactCredentials(text, secrets);
      assertNoLeaks({ redacted }, known);
      assert.match(redacted, /^denied: .*\[redacted\].* \(request 42\)$/);
    });
  }

  it("removes a bearer token received, in every form, before anything is cut", () => {
    const token = "ghs_opaqueTokenValue0123456789";
    const text = `${"x".repeat(100)}${token} ${Buffer.from(token).toString("base64url")} ${encodeURIComponent(token)}`;
    assertNoLeaks({ shape: describeShape(text, [token]), error: new RegistryError(text, 403, [token]).message }, [
      token,
    ]);
  });

  it("redacts before it cuts: a secret straddling the cut leaves no fragment", () => {
    for (let offset = 60; offset <= 110; offset++) {
      const body = { errors: [{ message: `${"y".repeat(offset)}${PASSWORD}${Buffer.from(PAIR).toString("base64")}` }] };
      const shape = describeShape(body, secrets);
      assertNoLeaks({ [`describeShape at ${offset}`]: shape }, known);
      assert.ok(shape.length <= 120, `cut to at most 120 characters, got ${shape.length}`);
    }
  });

  it("ordinary words and digests stay as they are", () => {
    const text = `GET /v2/acme/app/manifests/sha256:${"ab".repeat(32)}: HTTP 404 manifest unknown`;
    assert.equal(redactCredentials(text, secrets), text);
  });
});

describe("redactCredentials: anything credential-like, whoever it belongs to", () => {
  const jwt = `${Buffer.from('{"alg":"RS256"}').toString("base64url")}.${Buffer.from('{"sub":"bot"}').toString("base64url")}.c2lnbmF0dXJl`;
  const cases: Array<[string, string, string[]]> = [
    ["authorization: Basic Ym90OnB3", "authorization: [redacted]", []],
    ['{"Authorization":"Bearer abc.def"}', '{"Authorization":"[redacted]"}', []],
    ["denied for Bearer abcd1234, try again", "denied for Bearer [redacted], try again", []],
    ["fetch https://bot:hunter22@registry.example.com/v2/", "fetch https://[redacted]@registry.example.com/v2/", []],
    [`token ${jwt} expired`, "token [redacted JWT] expired", []],
    ['{"token":"opaque","expires_in":300}', '{"token":[redacted],"expires_in":300}', []],
    ["GET /token?service=x&access_token=abc", "GET /token?service=x&access_token=[redacted]", []],
    ["the password is hunter22 (aHVudGVyMjI=)", "the password is [redacted] ([redacted])", ["hunter22"]],
    ["line one\n  line two", "line one line two", []],
    [
      "could not get a pull token from http://127.0.0.1:5000/token: HTTP 401",
      "could not get a pull token from http://127.0.0.1:5000/token: HTTP 401",
      [],
    ],
  ];
  for (const [text, expected, secrets] of cases) {
    it(JSON.stringify(text), () => assert.equal(redactCredentials(text, secrets), expected));
  }
  it("every RegistryError message goes through it", () => {
    assert.equal(
      new RegistryError(`x ${sha256Digest(Buffer.from("a"))} Basic Ym90OnB3`, 403).message.includes("Ym90OnB3"),
      false,
    );
  });
});
