import { ReleaseConfigError } from "../model/errors";
import type { VersionTemplate } from "../model/tag-template";
import { closestReleased, type ReleasedVersion } from "./released-versions";
import type { TagPlan } from "./tags";
import { tagForVersion } from "./tags";

/** A rollback as asked (finsight:pin), before the registry has confirmed that the release exists. */
export interface RequestedPin {
  version: string;
  /** Its version tag, bare (`v1.3.2`). */
  tag: string;
  /** The tags that version carries, so the pin knows which floating tags to move back. */
  tags: TagPlan;
}

/** A rollback the registry confirmed: the release exists, and this is its digest. */
export interface ConfirmedPin extends RequestedPin {
  digest: string;
}

/** A plan's pin: confirmed, or (only in a preview that could not read the registry) as requested. */
export type PinnedRelease = RequestedPin | ConfirmedPin;

export const isConfirmed = (pin: PinnedRelease): pin is ConfirmedPin => "digest" in pin;

/** The pinned release as the registry knows it; the message lists the nearest released ones when there is none. */
export function confirmPin(
  pin: RequestedPin,
  released: readonly ReleasedVersion[],
  digests: Readonly<Record<string, string>>,
  repository: string,
  template: VersionTemplate,
): ConfirmedPin {
  const match = released.find((release) => release.version === pin.version);
  if (!match) {
    const closest = closestReleased(
      released.filter((release) => release.stable),
      pin.version,
    );
    throw new ReleaseConfigError(
      `finsight:pin must be a version released in ${repository}, got ${JSON.stringify(pin.version)}: there is no tag ${tagForVersion(template, pin.version)}. ${closest.length ? `Closest released versions: ${closest.join(", ")}` : "No released version was found"}`,
    );
  }
  const digest = digests[match.tag];
  if (!digest) {
    throw new ReleaseConfigError(
      `finsight:pin ${pin.version}: the registry lists ${repository}:${match.tag} but its manifest could not be read; try again, and check that the tag was not deleted meanwhile`,
    );
  }
  return { ...pin, digest };
}
