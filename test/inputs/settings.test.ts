import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parseSettings } from "../../src/inputs/settings";
import { readStackConfig } from "../../src/inputs/stack-files";
import { ReleaseConfigError } from "../../src/model/errors";
import type { ReleaseSettings } from "../../src/model/settings";
import type { ReleaseEnvironment } from "../../src/model/source-facts";
import { digest, stackConfig } from "../support/plan-fixtures";

/** prod's shipped config with overrides, parsed; secretKeys are keys set with --secret (their values absent). */
const parse = (
  overrides: Record<string, string | undefined>,
  secretKeys: string[] = [],
  env: ReleaseEnvironment = {},
) => parseSettings(stackConfig("prod", overrides, { secretKeys }), "prod", env);

function problemsOf(
  overrides: Record<string, string | undefined>,
  secretKeys: string[] = [],
  env: ReleaseEnvironment = {},
): readonly string[] {
  try {
    parse(overrides, secretKeys, env);
  } catch (error) {
    assert.ok(error instanceof ReleaseConfigError, `a ReleaseConfigError, got ${error}`);
    assert.equal(error.message, error.problems.join("\n"));
    return error.problems;
  }
  assert.fail("expected the settings to be refused");
}

describe("parseSettings: the shipped stacks", () => {
  it("prod parses to the values a release uses", () => {
    // The shipped stack file itself, as `pulumi up` reads it (Pulumi.yaml's defaults, then Pulumi.prod.yaml).
    const settings = parseSettings(readStackConfig(path.resolve(__dirname, "../.."), "prod"), "prod");
    assert.deepEqual(
      {
        variant: settings.variant,
        repository: settings.repository,
        platforms: settings.platforms,
        cache: settings.cache,
        push: settings.push,
        intent: settings.intent,
        buildOnPreview: settings.buildOnPreview,
        registryTokenHosts: settings.registryTokenHosts,
        environment: settings.github?.environment,
        teams: settings.github?.teams,
      },
      {
        variant: "full",
        repository: { host: "ghcr.io", path: "acme/finsight-backend", name: "ghcr.io/acme/finsight-backend" },
        platforms: ["linux/amd64"],
        cache: { type: "registry" },
        push: true,
        intent: { kind: "release" },
        buildOnPreview: false,
        registryTokenHosts: [],
        environment: "prod",
        teams: [{ name: "release-managers" }],
      },
    );
    assert.equal("version" in settings, false);
  });
});

describe("parseSettings: accepted values, normalised", () => {
  const cases: {
    name: string;
    overrides: Record<string, string>;
    secretKeys?: string[];
    env?: ReleaseEnvironment;
    pick: (settings: ReleaseSettings) => unknown;
    expected: unknown;
  }[] = [
    {
      name: "an upper-case registry host is the same host",
      overrides: { "finsight:registry": "GHCR.IO/acme" },
      pick: (s) => s.repository,
      expected: { host: "ghcr.io", path: "acme/finsight-backend", name: "ghcr.io/acme/finsight-backend" },
    },
    {
      name: "port 5000 and no namespace",
      overrides: { "finsight:registry": "localhost:5000" },
      pick: (s) => [s.registry, s.repository.name],
      expected: [{ host: "localhost:5000", namespace: "" }, "localhost:5000/finsight-backend"],
    },
    {
      name: "FINSIGHT_PROMOTE_DIGEST of sha256 and 64 hex digits: a promotion of exactly that digest",
      overrides: {},
      env: { FINSIGHT_PROMOTE_DIGEST: digest("ab") },
      pick: (s) => s.intent,
      expected: { kind: "promotion", digest: digest("ab") },
    },
    {
      name: "FINSIGHT_PHASE=candidate: a candidate run",
      overrides: {},
      env: { FINSIGHT_PHASE: "candidate" },
      pick: (s) => s.intent,
      expected: { kind: "candidate" },
    },
    {
      name: "token hosts lowercased, with a port; a single host needs no JSON",
      overrides: { "finsight:registryTokenHosts": '["Auth.Example.com:8443","token.example.org"]' },
      pick: (s) => s.registryTokenHosts,
      expected: ["auth.example.com:8443", "token.example.org"],
    },
    {
      name: "a single token host as plain text",
      overrides: { "finsight:registryTokenHosts": "auth.example.com" },
      pick: (s) => s.registryTokenHosts,
      expected: ["auth.example.com"],
    },
    {
      name: "cacheRef: its host lowercased, kept as host/path",
      overrides: { "finsight:cacheRef": "GHCR.IO/acme/caches" },
      pick: (s) => s.cache,
      expected: { type: "registry", repository: "ghcr.io/acme/caches" },
    },
    {
      name: "a pin with v, canonical",
      overrides: { "finsight:pin": "v1.3.2" },
      pick: (s) => s.intent,
      expected: { kind: "rollback", pin: "1.3.2" },
    },
    {
      name: "username with its secret password",
      overrides: { "finsight:registryUsername": "release-bot" },
      secretKeys: ["finsight:registryPassword"],
      pick: (s) => s.registryUsername,
      expected: "release-bot",
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(c.pick(parse(c.overrides, c.secretKeys, c.env)), c.expected));
  }
});

describe("parseSettings: refusals, every problem of a run at once", () => {
  const cases: {
    name: string;
    overrides: Record<string, string>;
    secretKeys?: string[];
    env?: ReleaseEnvironment;
    problems: RegExp[];
  }[] = [
    {
      name: "a misspelt key suggests the key it meant",
      overrides: { "finsight:verison": "1.4.0" },
      problems: [/^finsight:verison is not a known setting, got "verison": did you mean finsight:version\? Known: /],
    },
    {
      name: "an unknown key far from every known one",
      overrides: { "finsight:unknownKey": "x" },
      problems: [/^finsight:unknownKey is not a known setting, got "unknownKey" Known: variant, version, /],
    },
    {
      name: "a secret key set as plain config, without showing it",
      overrides: { "finsight:registryPassword": "hunter2-plain" },
      problems: [
        /^finsight:registryPassword must be a secret, got a plain value \(not shown\): run pulumi config set --secret finsight:registryPassword and remove the plain value from the stack file$/,
      ],
    },
    {
      name: "a plain key set as a secret",
      overrides: {},
      secretKeys: ["finsight:registry"],
      problems: [
        /^finsight:registry must be plain config, got a secret: it is not a credential, and the plan must be able to show it$/,
      ],
    },
    {
      name: "three bad settings, three lines",
      overrides: { "finsight:variant": "ful", "finsight:push": "yes", "finsight:platforms": '["linux/amd65"]' },
      problems: [
        /^finsight:variant must be "demo" or "full", got "ful"$/,
        /^finsight:platforms must be a list of platforms the docker-build provider knows \(.*\), got "linux\/amd65"$/,
        /^finsight:push must be true or false, got "yes"$/,
      ],
    },
    {
      name: "port 0",
      overrides: { "finsight:registry": "localhost:0" },
      problems: [/^finsight:registry must be a registry host .*port 1-65535\), got "localhost:0"$/],
    },
    {
      name: "port 99999",
      overrides: { "finsight:registry": "localhost:99999/acme" },
      problems: [/^finsight:registry must be .*, got "localhost:99999\/acme"$/],
    },
    {
      name: "a 260-character namespace is the registry's fault",
      overrides: { "finsight:registry": `ghcr.io/${"a".repeat(260)}` },
      problems: [
        /^finsight:registry must be a value that keeps the repository .* within 255 characters \(it has 285\)/,
      ],
    },
    {
      name: "a long image name is the image name's fault",
      overrides: { "finsight:imageName": "b".repeat(250) },
      problems: [
        /^finsight:imageName must be a value that keeps the repository .* within 255 characters \(it has 263\)/,
      ],
    },
    {
      name: "a phase that is not release or candidate",
      overrides: {},
      env: { FINSIGHT_PHASE: "promote" },
      problems: [
        /^FINSIGHT_PHASE must be "release" .* or "candidate" .*, got "promote": a promotion is asked with FINSIGHT_PROMOTE_DIGEST=/,
      ],
    },
    {
      name: "a per-run value left in the stack file (pulumi up -c saves it): the command that removes it",
      overrides: { "finsight:promoteDigest": digest("ab"), "finsight:promote": "false" },
      problems: [
        /^finsight:promoteDigest is not configuration any more, got "sha256:a?b.*Remove it with `pulumi config rm finsight:promoteDigest --stack prod`, and give it for the one run as FINSIGHT_PROMOTE_DIGEST=/,
        /^finsight:promote is not configuration any more, got "false".*`pulumi config rm finsight:promote --stack prod`.*FINSIGHT_PHASE=candidate/,
      ],
    },
    {
      name: "FINSIGHT_PROMOTE_DIGEST too short",
      overrides: {},
      env: { FINSIGHT_PROMOTE_DIGEST: "sha256:abc" },
      problems: [
        /^FINSIGHT_PROMOTE_DIGEST must be the candidate's digest, sha256: and 64 hex digits, got "sha256:abc"$/,
      ],
    },
    {
      name: "FINSIGHT_PROMOTE_DIGEST in upper case",
      overrides: {},
      env: { FINSIGHT_PROMOTE_DIGEST: `sha256:${"AB".repeat(32)}` },
      problems: [/^FINSIGHT_PROMOTE_DIGEST must be the candidate's digest/],
    },
    {
      name: "a token host with a scheme",
      overrides: { "finsight:registryTokenHosts": '["https://auth.example.com"]' },
      problems: [/^finsight:registryTokenHosts must be a list of host names .*, got "https:\/\/auth\.example\.com"$/],
    },
    {
      name: "a token host with a path",
      overrides: { "finsight:registryTokenHosts": '["auth.example.com/token"]' },
      problems: [/^finsight:registryTokenHosts must be .*, got "auth\.example\.com\/token"$/],
    },
    {
      name: "a pin in a candidate run: a rollback is not a candidate",
      overrides: { "finsight:pin": "1.3.2" },
      env: { FINSIGHT_PHASE: "candidate" },
      problems: [/^FINSIGHT_PHASE must be unset while finsight:pin is set, got "candidate": /],
    },
    {
      name: "a pin with a verified digest: one of them would be ignored",
      overrides: { "finsight:pin": "1.3.2" },
      env: { FINSIGHT_PROMOTE_DIGEST: `sha256:${"a".repeat(64)}` },
      problems: [/^FINSIGHT_PROMOTE_DIGEST must be unset while finsight:pin is set, got sha256:a{64}: /],
    },
    {
      name: "a verified digest with push=false: no registry to check it against",
      overrides: { "finsight:push": "false" },
      env: { FINSIGHT_PROMOTE_DIGEST: `sha256:${"b".repeat(64)}` },
      problems: [/^FINSIGHT_PROMOTE_DIGEST must be unset when finsight:push is false, got sha256:b{64}: /],
    },
    {
      name: "a Dockerfile outside the build context (its content would escape the label and the clean-tree check)",
      overrides: { "finsight:dockerfile": "../Dockerfile.backend" },
      problems: [/^finsight:dockerfile must be a path inside the build context .*, got "\.\.\/Dockerfile\.backend"$/],
    },
    {
      name: "a bad variant and a bad tag template, in one run",
      overrides: { "finsight:variant": "ful", "finsight:tags": '["v{{version}}","{{nope}}"]' },
      problems: [
        /^finsight:variant must be "demo" or "full", got "ful"$/,
        /^finsight:tags must be templates using only /,
      ],
    },
    {
      name: "a bad pin, a bad template and a bad version, in one run",
      overrides: { "finsight:pin": "1.3", "finsight:tags": '["{{nope}}"]', "finsight:version": "latest" },
      problems: [
        /^finsight:version must be a semantic version/,
        /^finsight:tags must be templates/,
        /^finsight:pin must be a released version/,
      ],
    },
    {
      name: "a pin with templates that cannot name a version: a combination, reported with the rest",
      overrides: { "finsight:pin": "1.3.2", "finsight:tags": '["sha-{{sha}}"]', "finsight:variant": "ful" },
      problems: [/^finsight:variant must be/, /^finsight:pin needs a tag template that names the version alone/],
    },
    {
      name: "an absolute Dockerfile path",
      overrides: { "finsight:dockerfile": "/etc/Dockerfile" },
      problems: [/^finsight:dockerfile must be a path inside the build context .*, got "\/etc\/Dockerfile"$/],
    },
    {
      name: "token hosts that are not strings",
      overrides: { "finsight:registryTokenHosts": "[443]" },
      problems: [/^finsight:registryTokenHosts must be a list of strings, got \[443\]$/],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const problems = problemsOf(c.overrides, c.secretKeys, c.env);
      assert.equal(problems.length, c.problems.length, problems.join("\n"));
      for (const [index, problem] of c.problems.entries()) assert.match(problems[index], problem);
    });
  }

  it("a plain password never appears in the message", () => {
    const problems = problemsOf({ "finsight:registryPassword": "hunter2-plain", "finsight:registryUsername": "bot" });
    assert.ok(problems.length >= 1);
    for (const line of problems) assert.doesNotMatch(line, /hunter2/);
  });
});

describe("parseSettings: credentials inside a URL-like setting are refused without being shown", () => {
  const cases: Array<[string, string]> = [
    ["finsight:registry", "bot:s3cr3tPa55@ghcr.io/acme"],
    ["finsight:registry", "https://bot:s3cr3tPa55@ghcr.io/acme"],
    ["finsight:registry", "bot@ghcr.io/acme"],
    ["finsight:cacheRef", "bot:s3cr3tPa55@ghcr.io/acme/cache"],
    ["finsight:sourceUrl", "https://bot:s3cr3tPa55@github.com/acme/finsight"],
    ["finsight:registryTokenHosts", '["bot:s3cr3tPa55@auth.example.com"]'],
    // A password may hold `/`, `?` or `#` (ECR's tokens are base64), which end a URL's authority: the
    // `@` then stands after the first `/`, and the value must still be refused unseen, never echoed
    // in another setting's error nor accepted into an image label.
    ["finsight:registry", "bot:s3cr3t/Pa55@ghcr.io/acme"],
    ["finsight:cacheRef", "bot:s3cr3t/Pa55@ghcr.io/acme/cache"],
    ["finsight:sourceUrl", "https://bot:s3cr3t/Pa55@github.com/acme/finsight"],
    ["finsight:registryTokenHosts", '["bot:s3cr3t/Pa55@auth.example.com"]'],
  ];
  for (const [key, value] of cases) {
    it(`${key}=${value.replace("s3cr3tPa55", "…")}`, () => {
      const problems = problemsOf({ [key]: value });
      assert.equal(problems.length, 1, problems.join("\n"));
      assert.match(
        problems[0],
        new RegExp(
          `^${key} must not hold credentials \\(user or password before @\\): set finsight:registryUsername and the secret finsight:registryPassword, or use docker login; got a value with credentials \\(not shown\\)`,
        ),
      );
      assert.doesNotMatch(problems[0], /s3cr3t|bot/);
    });
  }
});

describe("parseSettings: every problem of the run at once", () => {
  it("a bad finsight:version is reported with the other bad settings, not in a second run", () => {
    const problems = problemsOf({ "finsight:version": "1.4", "finsight:variant": "ful", "finsight:push": "yes" });
    assert.deepEqual(problems.map((line) => line.split(" ")[0]).sort(), [
      "finsight:push",
      "finsight:variant",
      "finsight:version",
    ]);
    assert.ok(
      problems.some((line) =>
        line.startsWith('finsight:version must be a semantic version such as 1.4.0, v1.4.0 or 1.5.0-rc.1, got "1.4"'),
      ),
    );
  });
});

describe("parseSettings: finsight:registryDeadline", () => {
  it("defaults to 120 seconds (Pulumi.yaml) and takes whole seconds up to an hour", () => {
    assert.equal(parse({}).registryDeadline, 120);
    assert.equal(parse({ "finsight:registryDeadline": "30" }).registryDeadline, 30);
    for (const bad of ["0", "-5", "1.5", "3601", "soon", ""]) {
      assert.deepEqual(problemsOf({ "finsight:registryDeadline": bad }), [
        `finsight:registryDeadline must be whole seconds from 1 to 3600 for the whole registry read, got ${JSON.stringify(bad)}`,
      ]);
    }
  });
});

describe("parseSettings: a registry user name holding a colon is refused unseen", () => {
  // Basic auth splits user:password at the first colon (RFC 7617), so no user name holds one; a value
  // that does is most likely a user:password pair pasted whole into the plain setting.
  for (const secretKeys of [[], ["finsight:registryPassword"]]) {
    it(`finsight:registryUsername=bot:… ${secretKeys.length ? "with" : "without"} the secret password`, () => {
      const problems = problemsOf({ "finsight:registryUsername": "bot:s3cr3tPa55" }, secretKeys);
      assert.equal(problems.length, 1, problems.join("\n"));
      assert.match(
        problems[0],
        /^finsight:registryUsername must be a user name without ":" \(basic auth splits user:password at the first colon\); got a value with ":" \(not shown\)/,
      );
      assert.doesNotMatch(problems[0], /s3cr3t/);
    });
  }
});
