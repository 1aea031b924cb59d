import type { RegistryAccess, RegistryCredentials } from "../model/registry";
import { RegistryClient, RegistryError, registryBaseUrl } from "../registry/client";
import { DockerConfigError, dockerCredentials } from "../registry/credentials";
import { firstLine } from "./commands";
import type { DoctorContext } from "./context";
import { type CheckResult, fail, pass, skip } from "./report";
import { pulumi } from "./toolchain";

/**
 * Push rights, proven the cheapest way the distribution API allows: start a blob upload (POST
 * /v2/<name>/blobs/uploads/, which needs the push scope) and cancel it (DELETE on the upload's
 * location). Nothing is stored: no blob, no manifest, no tag. A registry that does not cancel
 * uploads lets the unfinished one expire (distribution purges them on its own schedule).
 */
class PushProbe extends RegistryClient {
  private readonly probeAccess: RegistryAccess;

  constructor(access: RegistryAccess) {
    super(access);
    this.probeAccess = access;
  }

  /** How the upload ended; throws a RegistryError when the registry refused to start it. */
  async startAndCancelUpload(): Promise<string> {
    const uploads = `/v2/${this.probeAccess.repository}/blobs/uploads/`;
    const started = await this.request("POST", uploads, "pull,push");
    await started.discard();
    if (started.status !== 202) {
      throw new RegistryError(
        `${this.describe()}: POST ${uploads}: HTTP ${started.status}, not 202: this login may not push here`,
        started.status,
      );
    }
    const location = started.header("location");
    if (!location) return "a blob upload started (202), without a location to cancel; it expires on its own";
    const base = new URL(registryBaseUrl(this.probeAccess.host, this.probeAccess.insecure));
    let target: URL;
    try {
      target = new URL(location, base);
    } catch {
      return "a blob upload started (202); its location is not a URL, so it is left to expire";
    }
    // Credentials go to the registry's own origin only, as with every other request of the client.
    if (target.origin !== base.origin) {
      return `a blob upload started (202); its location is on ${target.origin}, so it is left to expire`;
    }
    const cancelled = await this.request("DELETE", `${target.pathname}${target.search}`, "pull,push");
    await cancelled.discard();
    return cancelled.status === 204
      ? "a blob upload started and was cancelled (202, then 204); nothing was stored"
      : `a blob upload started (202); the cancel answered ${cancelled.status}, so it expires on its own`;
  }
}

/** A login to push with (or none), named by where it came from. */
type LoginFound = { credentials?: RegistryCredentials; source: string };
type Login = LoginFound | { error: string; fix: string };

/** The login `pulumi up` will push with: the stack's finsight:registryUsername and secret, else the docker login. */
function loginFor(context: DoctorContext, host: string): Login {
  const username = context.settings?.registryUsername;
  if (username) {
    if (!context.pulumiStack) {
      return {
        error: `finsight:registryUsername is ${username}; its secret finsight:registryPassword can be read only through the Pulumi CLI and stack (above)`,
        fix: "fix the Pulumi checks above",
      };
    }
    const result = pulumi(context, ["config", "get", "finsight:registryPassword", "--stack", context.stack]);
    if (!result.ran || result.status !== 0) {
      return {
        error: `finsight:registryPassword could not be read: ${firstLine(result)}`,
        fix: `pulumi config set --secret finsight:registryPassword --stack ${context.stack}`,
      };
    }
    const password = result.stdout.replace(/\r?\n$/, "");
    context.secrets.push(password);
    return { credentials: { username, password }, source: `finsight:registryUsername ${username}` };
  }
  let credentials: RegistryCredentials | undefined;
  try {
    credentials = dockerCredentials(host, context.env);
  } catch (error) {
    if (!(error instanceof DockerConfigError)) throw error;
    return { error: error.message, fix: "fix or remove that config.json (docker login writes it anew)" };
  }
  if (credentials) context.secrets.push(credentials.password);
  return credentials ? { credentials, source: `the docker login for ${host}` } : { source: "no login" };
}

const TITLES = { reach: "registry reachable", login: "registry login", push: "registry push allowed" };

const dockerLoginFix = (host: string) =>
  `docker login ${host}   (or finsight:registryUsername with the secret finsight:registryPassword)`;

/** Three lines: the registry answers, the login is accepted, a push would be allowed. */
export async function checkRegistry(context: DoctorContext): Promise<CheckResult[]> {
  const settings = context.settings;
  if (!settings) {
    const why = "not checked: the stack settings do not parse (above)";
    return [
      fail("registry-reachable", TITLES.reach, why, "fix the settings above"),
      fail("registry-login", TITLES.login, why, "fix the settings above"),
      fail("registry-push", TITLES.push, why, "fix the settings above"),
    ];
  }
  const { repository } = settings;
  const login = loginFor(context, repository.host);
  const access: RegistryAccess = {
    host: repository.host,
    repository: repository.path,
    insecure: settings.registryInsecure,
    registryTokenHosts: settings.registryTokenHosts,
    timeoutMs: 10_000,
    ...("credentials" in login && login.credentials ? { credentials: login.credentials } : {}),
  };
  let tags: string[];
  try {
    tags = await new RegistryClient(access).listTags();
  } catch (error) {
    return listingFailed(repository.host, login, error);
  }
  const reachable = pass("registry-reachable", TITLES.reach, `${repository.name} answers (${tags.length} tags)`);
  if ("error" in login) {
    return [
      reachable,
      fail("registry-login", TITLES.login, login.error, login.fix),
      fail("registry-push", TITLES.push, "not checked: needs the stack's registry login (above)", login.fix),
    ];
  }
  return [reachable, loginLine(repository.host, login), await pushLine(context, access, login)];
}

/** The three lines when the tag listing failed: no answer, an answer that is not a registry's, or a refusal. */
function listingFailed(host: string, login: Login, error: unknown): CheckResult[] {
  const message = (error as Error).message;
  const status = error instanceof RegistryError ? error.status : 0;
  if (status === 0) {
    const fix = /^(localhost|127\.|\[::1\])/.test(host)
      ? `start the registry on ${host} (README, "Try it")`
      : `check the network and the host in finsight:registry (${host})`;
    return [
      fail("registry-reachable", TITLES.reach, message, fix),
      fail("registry-login", TITLES.login, "not checked: the registry did not answer", "fix the line above first"),
      fail("registry-push", TITLES.push, "not checked: the registry did not answer", "fix the line above first"),
    ];
  }
  if (status !== 401 && status !== 403) {
    return [
      fail(
        "registry-reachable",
        TITLES.reach,
        `answers, but not as a registry: ${message}`,
        `check finsight:registry (${host})`,
      ),
      fail("registry-login", TITLES.login, "not checked: the registry's answer was not usable", "fix the line above"),
      fail("registry-push", TITLES.push, "not checked: the registry's answer was not usable", "fix the line above"),
    ];
  }
  return listingRefused(host, login, message, status);
}

/** The registry answered 401 or 403 to the tag listing: it is there, and the login (or its absence) is the problem. */
function listingRefused(host: string, login: Login, message: string, status: number): CheckResult[] {
  const reachable = pass("registry-reachable", TITLES.reach, `${host} answers (HTTP ${status} to a tag listing)`);
  let loginResult: CheckResult;
  if ("error" in login) {
    loginResult = fail("registry-login", TITLES.login, login.error, login.fix);
  } else {
    const who = login.credentials
      ? `${login.source} was refused`
      : `no login for ${host}, and it refuses anonymous reads`;
    loginResult = fail("registry-login", TITLES.login, `${who}: ${message}`, dockerLoginFix(host));
  }
  return [
    reachable,
    loginResult,
    fail("registry-push", TITLES.push, "not checked: needs a valid login (above)", dockerLoginFix(host)),
  ];
}

/** The login line once the registry has answered the listing: anonymous reads work, but a push needs a login. */
function loginLine(host: string, login: LoginFound): CheckResult {
  if (!login.credentials) {
    return fail(
      "registry-login",
      TITLES.login,
      `no login for ${host}: reads work anonymously, a push will not`,
      dockerLoginFix(host),
    );
  }
  return pass("registry-login", TITLES.login, `${login.source} is accepted`);
}

/** A push would be allowed: proven by a cancelled blob upload, unless the stack pushes nothing or the run is read-only. */
async function pushLine(context: DoctorContext, access: RegistryAccess, login: LoginFound): Promise<CheckResult> {
  if (!context.settings?.push) {
    return skip("registry-push", TITLES.push, "finsight:push is false: this stack pushes nothing");
  }
  if (context.readOnly) return skip("registry-push", TITLES.push, "--read-only: no upload was started");
  if (!login.credentials) {
    return fail("registry-push", TITLES.push, "not checked: needs a login (above)", dockerLoginFix(access.host));
  }
  try {
    return pass("registry-push", TITLES.push, await new PushProbe(access).startAndCancelUpload());
  } catch (error) {
    const repositoryName = context.settings.repository.name;
    return fail(
      "registry-push",
      TITLES.push,
      (error as Error).message,
      `give ${login.source.replace(/^the docker login for .*/, "this login")} write (push) access to ${repositoryName}`,
    );
  }
}
