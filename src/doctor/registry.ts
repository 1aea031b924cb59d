import type { RegistryAccess, RegistryCredentials } from "../model/registry";
import { RegistryClient, RegistryError, registryBaseUrl } from "../registry/client";
import { dockerCredentials } from "../registry/credentials";
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
    await started.body?.cancel();
    if (started.status !== 202) {
      throw new RegistryError(
        `${this.describe()}: POST ${uploads}: HTTP ${started.status}, not 202: this login may not push here`,
        started.status,
      );
    }
    const location = started.headers.get("location");
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
    await cancelled.body?.cancel();
    return cancelled.status === 204
      ? "a blob upload started and was cancelled (202, then 204); nothing was stored"
      : `a blob upload started (202); the cancel answered ${cancelled.status}, so it expires on its own`;
  }
}

type Login = { credentials?: RegistryCredentials; source: string } | { error: string; fix: string };

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
  const credentials = dockerCredentials(host, context.env);
  if (credentials) context.secrets.push(credentials.password);
  return credentials ? { credentials, source: `the docker login for ${host}` } : { source: "no login" };
}

/** Three lines: the registry answers, the login is accepted, a push would be allowed. */
export async function checkRegistry(context: DoctorContext): Promise<CheckResult[]> {
  const titles = { reach: "registry reachable", login: "registry login", push: "registry push allowed" };
  const settings = context.settings;
  if (!settings) {
    const why = "not checked: the stack settings do not parse (above)";
    return [
      fail("registry-reachable", titles.reach, why, "fix the settings above"),
      fail("registry-login", titles.login, why, "fix the settings above"),
      fail("registry-push", titles.push, why, "fix the settings above"),
    ];
  }
  const { repository } = settings;
  const login = loginFor(context, repository.host);
  const dockerLogin = `docker login ${repository.host}   (or finsight:registryUsername with the secret finsight:registryPassword)`;
  const access: RegistryAccess = {
    host: repository.host,
    repository: repository.path,
    insecure: settings.registryInsecure,
    registryTokenHosts: settings.registryTokenHosts,
    timeoutMs: 10_000,
    ...("credentials" in login && login.credentials ? { credentials: login.credentials } : {}),
  };
  const results: CheckResult[] = [];
  let tags: string[];
  try {
    tags = await new RegistryClient(access).listTags();
  } catch (error) {
    const message = (error as Error).message;
    const status = error instanceof RegistryError ? error.status : 0;
    if (status === 0) {
      const fix = /^(localhost|127\.|\[::1\])/.test(repository.host)
        ? `start the registry on ${repository.host} (README, "Try it")`
        : `check the network and the host in finsight:registry (${repository.host})`;
      return [
        fail("registry-reachable", titles.reach, message, fix),
        fail("registry-login", titles.login, "not checked: the registry did not answer", "fix the line above first"),
        fail("registry-push", titles.push, "not checked: the registry did not answer", "fix the line above first"),
      ];
    }
    if (status !== 401 && status !== 403) {
      return [
        fail(
          "registry-reachable",
          titles.reach,
          `answers, but not as a registry: ${message}`,
          `check finsight:registry (${repository.host})`,
        ),
        fail("registry-login", titles.login, "not checked: the registry's answer was not usable", "fix the line above"),
        fail("registry-push", titles.push, "not checked: the registry's answer was not usable", "fix the line above"),
      ];
    }
    results.push(
      pass("registry-reachable", titles.reach, `${repository.host} answers (HTTP ${status} to a tag listing)`),
    );
    if ("error" in login) {
      results.push(fail("registry-login", titles.login, login.error, login.fix));
    } else {
      const who = login.credentials
        ? `${login.source} was refused`
        : `no login for ${repository.host}, and it refuses anonymous reads`;
      results.push(fail("registry-login", titles.login, `${who}: ${message}`, dockerLogin));
    }
    results.push(fail("registry-push", titles.push, "not checked: needs a valid login (above)", dockerLogin));
    return results;
  }
  results.push(pass("registry-reachable", titles.reach, `${repository.name} answers (${tags.length} tags)`));
  if ("error" in login) {
    results.push(fail("registry-login", titles.login, login.error, login.fix));
    results.push(
      fail("registry-push", titles.push, "not checked: needs the stack's registry login (above)", login.fix),
    );
    return results;
  }
  if (!login.credentials) {
    results.push(
      fail(
        "registry-login",
        titles.login,
        `no login for ${repository.host}: reads work anonymously, a push will not`,
        dockerLogin,
      ),
    );
  } else {
    results.push(pass("registry-login", titles.login, `${login.source} is accepted`));
  }
  if (!settings.push) {
    results.push(skip("registry-push", titles.push, "finsight:push is false: this stack pushes nothing"));
  } else if (context.readOnly) {
    results.push(skip("registry-push", titles.push, "--read-only: no upload was started"));
  } else if (!login.credentials) {
    results.push(fail("registry-push", titles.push, "not checked: needs a login (above)", dockerLogin));
  } else {
    try {
      results.push(pass("registry-push", titles.push, await new PushProbe(access).startAndCancelUpload()));
    } catch (error) {
      results.push(
        fail(
          "registry-push",
          titles.push,
          (error as Error).message,
          `give ${login.source.replace(/^the docker login for .*/, "this login")} write (push) access to ${repository.name}`,
        ),
      );
    }
  }
  return results;
}
