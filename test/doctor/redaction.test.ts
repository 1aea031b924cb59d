/**
 * A registry that echoes the login back (in a body that is not JSON, inside a JSON field, at the end
 * of a long error page): the doctor's lines never carry the password, whatever characters it holds
 * (`:`, `@`, `%`, a quote, a newline) and wherever a message is cut short.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { checkRegistry } from "../../src/doctor/registry";
import { redactReport } from "../../src/doctor/report";
import { parseSettings } from "../../src/inputs/settings";
import { doctorContext, fakeTools } from "../support/doctor";
import { stackConfig } from "../support/plan-fixtures";
import { tempDir } from "../support/temp";

const PASSWORD = 'Pa:ss@w%rd\nline-two"q';
/** Every piece of the password long enough to recognise. */
const PIECES = ["Pa:ss@w%rd", "line-two", "ss@w%rd\\nline", "w%rd line"];

type Echo = "not-json" | "json-field" | "long-page";

describe("doctor: a registry that echoes the password", () => {
  let server: http.Server;
  let host: string;
  let mode: Echo = "not-json";
  const tools = fakeTools({});
  before(async () => {
    server = http.createServer((request, response) => {
      const auth = request.headers.authorization ?? "";
      if (!auth.startsWith("Basic ")) {
        response.writeHead(401, { "www-authenticate": 'Basic realm="registry"' });
        return void response.end();
      }
      const decoded = Buffer.from(auth.slice("Basic ".length), "base64").toString("utf8");
      const password = decoded.slice(decoded.indexOf(":") + 1);
      if (mode === "not-json") {
        response.writeHead(200);
        return void response.end(`not json, you sent ${password}`);
      }
      if (mode === "json-field") {
        response.writeHead(200, { "content-type": "application/json" });
        return void response.end(JSON.stringify({ name: "t/finsight-backend", tags: `you sent ${password}` }));
      }
      response.writeHead(500);
      response.end(`${"x".repeat(285)} ${password}`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    tools.remove();
  });

  for (const echo of ["not-json", "json-field", "long-page"] as const) {
    it(`${echo}: the report names the failure, never a piece of the password`, async () => {
      mode = echo;
      const dir = tempDir("finsight-doctor-echo-");
      const auth = Buffer.from(`release-bot:${PASSWORD}`).toString("base64");
      fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ auths: { [host]: { auth } } }));
      const context = doctorContext({ path: tools.path });
      context.env.DOCKER_CONFIG = dir;
      context.settings = parseSettings(stackConfig("demo", { "finsight:registry": `${host}/t` }), "demo");
      const checks = await checkRegistry(context);
      const text = JSON.stringify(redactReport({ stack: "demo", readOnly: false, ok: false, checks }, context.secrets));
      assert.equal(checks[0].status, "fail", text);
      assert.match(text, /\[redacted\]/, "the echo is there, blanked");
      for (const piece of PIECES) assert.ok(!text.includes(piece), `${piece} printed: ${text}`);
    });
  }
});
