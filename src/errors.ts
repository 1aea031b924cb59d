/**
 * A setting the release cannot go ahead with. The message always names the setting,
 * the value it got and what is accepted, so it can be shown to the user as it is.
 */
export class ReleaseConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReleaseConfigError";
  }
}

/** `finsight:variant must be "demo" or "full", got "ful"` */
export function invalidSetting(setting: string, accepted: string, got: unknown): ReleaseConfigError {
  return new ReleaseConfigError(`${setting} must be ${accepted}, got ${JSON.stringify(got)}`);
}
