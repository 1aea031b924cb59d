import { closest, distance } from "fastest-levenshtein";

/**
 * A setting the release cannot go ahead with. The message always names the setting, the value it
 * got and what is accepted, one line per problem, so it can be shown to the user as it is.
 */
export class ReleaseConfigError extends Error {
  /** One line each; the message is these lines joined. */
  readonly problems: readonly string[];

  constructor(message: string, problems: readonly string[] = [message]) {
    super(message);
    this.name = "ReleaseConfigError";
    this.problems = problems;
  }
}

/** `finsight:variant must be "demo" or "full", got "ful"` */
export function invalidSetting(setting: string, accepted: string, got: unknown): ReleaseConfigError {
  return new ReleaseConfigError(`${setting} must be ${accepted}, got ${JSON.stringify(got)}`);
}

/** The known name a typo most likely meant, or undefined when none is close. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const best = closest(
    name.toLowerCase(),
    known.map((k) => k.toLowerCase()),
  );
  const match = known.find((k) => k.toLowerCase() === best) as string;
  return distance(name.toLowerCase(), best) <= Math.max(2, Math.floor(name.length / 3)) ? match : undefined;
}

/** `finsight:github has no key "reviewer": did you mean "reviewers"? Known keys: …` */
export function unknownKey(setting: string, key: string, known: readonly string[], joiner = "."): string {
  const suggestion = closestName(key, known);
  const name = setting.endsWith(":") ? setting : `${setting}${joiner}`;
  return `${name}${key} is not a known setting, got ${JSON.stringify(key)}${
    suggestion ? `: did you mean ${name}${suggestion}?` : ""
  } Known: ${known.join(", ")}`;
}

/**
 * Every problem of one run, reported together: each parse step runs even when an earlier one
 * failed, and the run stops once, before anything is registered.
 */
export class Problems {
  private readonly lines: string[] = [];

  /** Runs one parse step; a ReleaseConfigError it throws is kept, and the step yields undefined. */
  check<T>(step: () => T): T | undefined {
    try {
      return step();
    } catch (error) {
      if (!(error instanceof ReleaseConfigError)) throw error;
      this.lines.push(...error.problems);
      return undefined;
    }
  }

  add(line: string): void {
    this.lines.push(line);
  }

  get count(): number {
    return this.lines.length;
  }

  throwIfAny(): void {
    if (this.lines.length > 0) throw new ReleaseConfigError(this.lines.join("\n"), [...this.lines]);
  }
}
