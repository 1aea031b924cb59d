import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseGitHubSettings } from "../../src/inputs/github-settings";
import { ReleaseConfigError } from "../../src/model/errors";
import type { GitHubSettings } from "../../src/model/github-settings";

const base = { owner: "acme", repository: "finsight" };
/** finsight:github as Pulumi hands it to the program: JSON text. */
const parse = (value: unknown) =>
  parseGitHubSettings(typeof value === "string" ? value : JSON.stringify(value), "prod");

function problemsOf(value: unknown): readonly string[] {
  try {
    parse(value);
  } catch (error) {
    assert.ok(error instanceof ReleaseConfigError, `a ReleaseConfigError, got ${error}`);
    return error.problems;
  }
  assert.fail("expected finsight:github to be refused");
}

describe("parseGitHubSettings: accepted", () => {
  it("owner and repository alone: the stack's name as environment, nothing else", () => {
    assert.deepEqual(parse(base), {
      owner: "acme",
      repository: "finsight",
      environment: "prod",
      users: [],
      teams: [],
      preventSelfReview: false,
      waitTimer: 0,
      branches: [],
      tags: [],
      secrets: {},
      variables: {},
    } satisfies GitHubSettings);
  });

  const reviewers: { name: string; text: string; users: GitHubSettings["users"] }[] = [
    { name: "a numeric id", text: "[12345]", users: [{ id: 12345 }] },
    { name: "a numeric id as text", text: '["12345"]', users: [{ id: 12345 }] },
    { name: "a login", text: '["octocat"]', users: [{ name: "octocat" }] },
    { name: "the largest safe id", text: "[9007199254740991]", users: [{ id: 9007199254740991 }] },
  ];
  for (const c of reviewers) {
    it(`reviewer: ${c.name}`, () => {
      const text = `{"owner":"acme","repository":"finsight","reviewers":{"users":${c.text}}}`;
      assert.deepEqual(parse(text)?.users, c.users);
    });
  }

  it("enabled: false means no environment", () => assert.equal(parse({ ...base, enabled: false }), undefined));
  it("unset or blank means no environment", () => assert.deepEqual([parse(""), parse("  ")], [undefined, undefined]));
});

describe("parseGitHubSettings: refused, with every problem", () => {
  const cases: { name: string; value: unknown; problems: RegExp[] }[] = [
    {
      name: "reviewer instead of reviewers",
      value: { ...base, reviewer: { teams: ["sre"] } },
      problems: [
        /^finsight:github\.reviewer is not a known setting, got "reviewer": did you mean finsight:github\.reviewers\? Known: /,
      ],
    },
    {
      name: "deployfrom instead of deployFrom",
      value: { ...base, deployfrom: { branches: ["main"] } },
      problems: [
        /^finsight:github\.deployfrom is not a known setting, got "deployfrom": did you mean finsight:github\.deployFrom\?/,
      ],
    },
    {
      name: "an unknown key inside reviewers",
      value: { ...base, reviewers: { users: ["octocat"], groups: ["sre"] } },
      problems: [/^finsight:github\.reviewers\.groups is not a known setting, got "groups" Known: users, teams$/],
    },
    {
      name: "an unknown key inside deployFrom, with its suggestion",
      value: { ...base, deployFrom: { branch: ["main"] } },
      problems: [
        /^finsight:github\.deployFrom\.branch is not a known setting, got "branch": did you mean finsight:github\.deployFrom\.branches\?/,
      ],
    },
    {
      name: "an id past 2^53 as text is refused, not rounded",
      value: { ...base, reviewers: { users: ["99999999999999999999"] } },
      problems: [
        /^finsight:github\.reviewers\.users must be numeric ids from 1 to 9007199254740991 without leading zeros, got "99999999999999999999"$/,
      ],
    },
    {
      name: "a leading zero",
      value: { ...base, reviewers: { teams: ["007"] } },
      problems: [/^finsight:github\.reviewers\.teams must be numeric ids .* without leading zeros, got "007"$/],
    },
    {
      name: "an id past 2^53 as a JSON number (already rounded by JSON.parse)",
      value: '{"owner":"acme","repository":"finsight","reviewers":{"users":[9007199254740993]}}',
      problems: [
        /^finsight:github\.reviewers\.users must be numeric ids from 1 to 9007199254740991, got 9007199254740992$/,
      ],
    },
    {
      name: "zero and negative ids",
      value: { ...base, reviewers: { users: [0, -5] } },
      problems: [/ids from 1 to .*, got 0$/, /ids from 1 to .*, got -5$/],
    },
    {
      name: "a repeated branch",
      value: { ...base, deployFrom: { branches: ["main", "main"] } },
      problems: [
        /^finsight:github\.deployFrom\.branches must be a list of patterns without repeats, got \["main","main"\]$/,
      ],
    },
    {
      name: "a reviewer twice, by login in two cases",
      value: { ...base, reviewers: { users: ["octocat", "OctoCat"] } },
      problems: [/^finsight:github\.reviewers\.users must be a list without repeats, got \["octocat","OctoCat"\]$/],
    },
    {
      name: "a reviewer twice, by id as number and text",
      value: { ...base, reviewers: { teams: [42, "42"] } },
      problems: [/^finsight:github\.reviewers\.teams must be a list without repeats/],
    },
    {
      name: "enabled: false does not hide a typo",
      value: { ...base, enabled: false, reviewer: {} },
      problems: [/^finsight:github\.reviewer is not a known setting/],
    },
    {
      name: "three problems, three lines",
      value: { owner: "-acme", repository: "finsight", waitTimer: -1, variables: { FINSIGHT_VERSION: "1" } },
      problems: [
        /^finsight:github\.owner must be the GitHub user or organization/,
        /^finsight:github\.waitTimer must be whole minutes from 0 to 43200 \(30 days\), got -1$/,
        /^finsight:github\.variables must not set FINSIGHT_VERSION/,
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const problems = problemsOf(c.value);
      assert.equal(problems.length, c.problems.length, problems.join("\n"));
      for (const [index, problem] of c.problems.entries()) assert.match(problems[index], problem);
    });
  }
});
