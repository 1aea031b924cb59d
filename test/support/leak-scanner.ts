/**
 * Finds a known secret in whatever a run printed, in every form a registry, a proxy or a careless
 * message could carry it: as it is, JSON-escaped (JavaScript's and Go's escaping), URL- and
 * form-encoded (either case of the hex digits), and base64 or base64url at any byte offset (a
 * secret inside a longer encoded value, such as `Basic base64(user:password)`). A fragment counts
 * too: any run of FRAGMENT characters of a form, so a secret cut in half by a length limit is found.
 *
 * Written independently of src/registry/redaction.ts on purpose: a scanner that shared the
 * redaction's list of forms could never find what that list forgets.
 */
import assert from "node:assert/strict";

/** A run of this many characters of a plain, escaped or encoded form is a leak. */
export const FRAGMENT = 8;
/** Base64 characters carry 6 bits each, so a fragment of an encoded form is longer. */
export const ENCODED_FRAGMENT = 12;

function goJsonEscape(text: string): string {
  return JSON.stringify(text).slice(1, -1).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
}

/** Every hex digit of a percent escape in the other case, too. */
const bothCases = (encoded: string) => [encoded, encoded.replace(/%[0-9A-F]{2}/g, (percent) => percent.toLowerCase())];

/** The base64 characters that depend on the secret's bytes alone, when it starts `offset` bytes into a value. */
function base64Cores(secret: Buffer, alphabet: "base64" | "base64url"): string[] {
  const cores: string[] = [];
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), secret])
      .toString(alphabet)
      .replace(/=+$/, "");
    const skip = [0, 2, 3][offset];
    const tail = (offset + secret.length) % 3 === 0 ? 0 : 1;
    cores.push(encoded.slice(skip, encoded.length - tail));
  }
  return cores;
}

export interface SecretForm {
  name: string;
  text: string;
  /** How many consecutive characters of it make a leak. */
  fragment: number;
}

export function secretForms(secret: string): SecretForm[] {
  const bytes = Buffer.from(secret, "utf8");
  const forms: SecretForm[] = [
    { name: "plain", text: secret, fragment: FRAGMENT },
    { name: "JSON-escaped", text: JSON.stringify(secret).slice(1, -1), fragment: FRAGMENT },
    { name: "JSON-escaped (Go)", text: goJsonEscape(secret), fragment: FRAGMENT },
    ...bothCases(encodeURIComponent(secret)).map((text) => ({ name: "URL-encoded", text, fragment: FRAGMENT })),
    ...bothCases(new URLSearchParams({ s: secret }).toString().slice(2)).map((text) => ({
      name: "form-encoded",
      text,
      fragment: FRAGMENT,
    })),
    ...bothCases([...bytes].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join("")).map(
      (text) => ({ name: "every byte percent-encoded", text, fragment: FRAGMENT * 3 }),
    ),
    ...base64Cores(bytes, "base64").map((text) => ({ name: "base64", text, fragment: ENCODED_FRAGMENT })),
    ...base64Cores(bytes, "base64url").map((text) => ({ name: "base64url", text, fragment: ENCODED_FRAGMENT })),
  ];
  return forms.filter((form) => form.text.length >= Math.min(form.fragment, 4));
}

/**
 * A secret to look for: a string is looked for in fragments too; `{ whole }` (a `user:password` pair)
 * only as a whole, since a fragment of it may be the user name alone, which is no secret (its password
 * part is found in fragments when the password itself is passed as well).
 */
export type KnownSecret = string | { whole: string };

export interface Leak {
  output: string;
  form: string;
  fragment: string;
}

/** Every leak of every secret in every output (`name -> text`). */
export function findLeaks(outputs: Record<string, string>, secrets: readonly KnownSecret[]): Leak[] {
  const leaks: Leak[] = [];
  for (const [output, text] of Object.entries(outputs)) {
    for (const secret of secrets) {
      const whole = typeof secret !== "string";
      for (const form of secretForms(whole ? secret.whole : secret)) {
        const size = whole ? form.text.length : Math.min(form.fragment, form.text.length);
        for (let at = 0; at + size <= form.text.length; at++) {
          const fragment = form.text.slice(at, at + size);
          if (text.includes(fragment)) {
            leaks.push({ output, form: form.name, fragment });
            break;
          }
        }
      }
    }
  }
  return leaks;
}

/** Fails naming the output, the form and the fragment found; never prints the secret itself. */
export function assertNoLeaks(outputs: Record<string, string>, secrets: readonly KnownSecret[]): void {
  const leaks = findLeaks(outputs, secrets);
  assert.deepEqual(
    leaks.map((leak) => `${leak.output}: ${leak.form} fragment of a secret`),
    [],
    `secrets leaked: ${leaks.map((leak) => `${leak.output} (${leak.form})`).join(", ")}`,
  );
}
