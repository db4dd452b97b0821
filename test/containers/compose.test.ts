/**
 * No Docker engine runs where the tests do: this checks the container files'
 * wiring instead, by parsing them. docker-compose.yml with the `yaml` package
 * (merge keys resolved as Compose does), the Dockerfile line by line.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { loadConfig } from "../../src/server/config.ts";

const root = new URL("../..", import.meta.url);

interface Service {
  image?: string;
  build?: { context: string; args?: Record<string, string> };
  profiles?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  networks?: Record<string, { aliases?: string[] } | null>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  deploy?: { resources?: { reservations?: { devices?: Array<{ driver: string; count?: string | number; capabilities: string[] }> } } };
}

interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** `${NAME:-default}` as Compose expands it with NAME unset. */
const interpolate = (text: string) => text.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, "$1");

const compose = parse(await readFile(new URL("docker-compose.yml", root), "utf8"), { merge: true }) as ComposeFile;
const dockerfile = (await readFile(new URL("Dockerfile", root), "utf8")).replace(/\\\n/g, " ");
const instructions = dockerfile
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith("#"))
  .map((line) => /^(\S+)\s+(.*)$/.exec(line)!.slice(1) as [string, string]);

const gatewayPort = 11434;
const gateways = Object.entries(compose.services).filter(([, service]) => service.build);
const webui = compose.services["open-webui"]!;
const profiles = ["cpu", "gpu"];
const enabled = (profile: string) =>
  Object.entries(compose.services).filter(([, service]) => !service.profiles || service.profiles.includes(profile));

/** The instructions of the Dockerfile's last stage: what the image is. */
const finalStage = instructions.slice(instructions.findLastIndex(([keyword]) => keyword === "FROM"));

describe("docker-compose.yml", () => {
  it("has a CPU and a CUDA gateway, built from the Dockerfile with its CUDA argument", () => {
    assert.deepEqual(gateways.map(([name]) => name).sort(), ["modelgate", "modelgate-gpu"]);
    const declared = instructions.filter(([keyword]) => keyword === "ARG").map(([, rest]) => rest.split("=")[0]);
    for (const [name, service] of gateways) {
      assert.equal(service.build!.context, ".");
      for (const arg of Object.keys(service.build!.args ?? {})) assert.ok(declared.includes(arg), `${name}: build arg ${arg} is declared`);
    }
    assert.equal(compose.services.modelgate!.build!.args!.CUDA, "0");
    assert.equal(compose.services["modelgate-gpu"]!.build!.args!.CUDA, "1");
  });

  it("each profile starts one gateway, which Open WebUI waits for and reaches by name at the gateway's port", () => {
    const url = new URL(webui.environment!.OLLAMA_BASE_URL!);
    assert.equal(url.protocol, "http:");
    assert.equal(Number(url.port), gatewayPort);
    for (const profile of profiles) {
      const services = enabled(profile);
      const running = services.filter(([, service]) => service.build);
      assert.equal(running.length, 1, `profile ${profile} starts one gateway`);
      const [name, gateway] = running[0]!;
      assert.ok(services.some(([other]) => other === "open-webui"), `profile ${profile} starts Open WebUI`);
      const names = [name, ...(gateway.networks?.default?.aliases ?? [])];
      assert.ok(names.includes(url.hostname), `${url.hostname} reaches ${name} (${names.join(", ")})`);
      assert.equal(webui.depends_on![name]?.condition, "service_healthy", `Open WebUI waits for ${name} to be healthy`);
    }
    // The other profile's gateway is absent: its dependency must be optional.
    for (const dependency of Object.values(webui.depends_on!)) assert.equal(dependency.required, false);
  });

  it("publishes the gateway and Open WebUI on the host's loopback only, by default", () => {
    for (const [name, service] of [...gateways, ["open-webui", webui] as const]) {
      assert.ok(service.ports?.length, `${name} publishes a port`);
      for (const port of service.ports!) assert.match(interpolate(port), /^127\.0\.0\.1:\d+:\d+$/, `${name}: ${port}`);
    }
    for (const [, service] of gateways) assert.deepEqual(service.ports!.map(interpolate), [`127.0.0.1:${gatewayPort}:${gatewayPort}`]);
  });

  it("keeps MODELGATE_HOME and Open WebUI's data on named volumes", () => {
    for (const [name, service] of gateways) {
      const home = service.environment!.MODELGATE_HOME!;
      const mount = service.volumes!.map((volume) => volume.split(":")).find(([, target]) => target === home);
      assert.ok(mount, `${name} mounts a volume at ${home}`);
      assert.ok(mount[0]! in (compose.volumes ?? {}), `${mount[0]} is a named volume`);
    }
    const data = webui.volumes!.map((volume) => volume.split(":")).find(([, target]) => target === "/app/backend/data");
    assert.ok(data && data[0]! in (compose.volumes ?? {}));
  });

  it("health-checks the gateway on /api/version at its port", () => {
    for (const [name, service] of gateways) {
      const test = service.healthcheck!.test.join(" ");
      assert.match(test, new RegExp(`127\\.0\\.0\\.1:${gatewayPort}/api/version`), name);
    }
  });

  it("the gpu profile's gateway reserves NVIDIA GPUs; the CPU one none", () => {
    const devices = compose.services["modelgate-gpu"]!.deploy?.resources?.reservations?.devices ?? [];
    assert.ok(devices.some((device) => device.driver === "nvidia" && device.capabilities.includes("gpu")), JSON.stringify(devices));
    assert.equal(compose.services.modelgate!.deploy, undefined);
    assert.deepEqual(compose.services["modelgate-gpu"]!.profiles, ["gpu"]);
  });

  it("sets only environment variables the gateway reads, listening where the port is published", () => {
    for (const [name, service] of gateways) {
      const environment = Object.entries(service.environment!).map(([key, value]) => [key, interpolate(value) || "compose-test-key"] as const);
      const defaults = loadConfig({});
      for (const [key, value] of environment) {
        assert.match(key, /^MODELGATE_/, `${name}: ${key}`);
        assert.notDeepEqual(loadConfig({ [key]: value }), defaults, `${name}: ${key}=${value} changes the configuration`);
      }
      const config = loadConfig(Object.fromEntries(environment));
      assert.equal(config.listen.port, gatewayPort);
      assert.equal(config.home, service.environment!.MODELGATE_HOME);
    }
  });
});

describe("Dockerfile", () => {
  it("builds llama-server with the project's own install code in a stage before the image", () => {
    const build = instructions.slice(0, instructions.length - finalStage.length);
    assert.ok(build.some(([keyword, rest]) => keyword === "RUN" && rest.includes("scripts/install-engine.ts")));
    // The engine's whole directory: a prebuilt engine's ggml libraries sit beside the binary.
    assert.ok(finalStage.some(([keyword, rest]) => keyword === "COPY" && rest.startsWith("--from=build") && rest.includes("/opt/llama/bin/")));
    assert.ok(finalStage.some(([keyword, rest]) => keyword === "RUN" && rest.includes("/opt/llama/bin/llama-server /usr/local/bin/llama-server")));
  });

  it("runs as a non-root user, exposes the gateway's port and health-checks /api/version", () => {
    const last = (keyword: string) => finalStage.findLast(([found]) => found === keyword)?.[1];
    const user = last("USER");
    assert.ok(user && !/^(root|0)(:|$)/.test(user), `USER ${user}`);
    assert.equal(last("EXPOSE"), String(gatewayPort));
    assert.match(last("HEALTHCHECK") ?? "", new RegExp(`127\\.0\\.0\\.1:${gatewayPort}/api/version`));
  });

  it("listens on every interface only because it says so, and keeps MODELGATE_HOME on a volume", () => {
    const env = Object.fromEntries(
      finalStage.filter(([keyword]) => keyword === "ENV").flatMap(([, rest]) => [...rest.matchAll(/(\w+)=(\S+)/g)].map((match) => [match[1]!, match[2]!])),
    );
    const config = loadConfig(env);
    assert.deepEqual(config.listen, loadConfig({ MODELGATE_HOST: `0.0.0.0:${gatewayPort}` }).listen);
    assert.equal(config.home, env.MODELGATE_HOME);
    const volume = finalStage.find(([keyword]) => keyword === "VOLUME")?.[1] ?? "";
    assert.ok(volume.includes(`"${env.MODELGATE_HOME}"`), `VOLUME ${volume}`);
  });
});
