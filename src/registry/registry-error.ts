import { redactCredentials } from "./redaction";

/** A registry answered, but not as hoped (denied, malformed), or could not be reached at all. */
export class RegistryError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when the registry could not be reached. */
    readonly status: number,
    /** Values to blank out besides the credential-looking patterns (passwords, tokens this client holds). */
    secrets: readonly string[] = [],
  ) {
    super(redactCredentials(message, secrets));
    this.name = "RegistryError";
  }
}
