import { once } from "node:events";
import { createInterface } from "node:readline";
import { parsePrometheusText } from "../../src/scheduling/prometheus-text.ts";
import { llamaServerForTests } from "./engine.ts";
import { spawnTied } from "./processes.ts";

export interface TcpLlamaServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly pid: number;
  /** Resolves once the process has exited. */
  readonly exited: Promise<unknown>;
  /** A counter or gauge of its `/metrics`, e.g. `llamacpp:tokens_predicted_total`. */
  metric(name: string): Promise<number>;
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<void>;
}

/**
 * A real llama-server on loopback TCP (port 0: the kernel picks a free one,
 * read back from its log), as an engine running elsewhere would be. The
 * kernel kills it if the test process dies.
 */
export async function startTcpLlamaServer(options: { model: string; alias: string; args?: readonly string[] }): Promise<TcpLlamaServer> {
  const args = ["--model", options.model, "--alias", options.alias, "--host", "127.0.0.1", "--port", "0", "--metrics", ...(options.args ?? [])];
  const child = await spawnTied(await llamaServerForTests(), args, { stdio: ["ignore", "ignore", "pipe"] });
  const exited = once(child, "exit");
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`llama-server did not listen within 120 s: ${lines.slice(-5).join("\n")}`)), 120_000);
    createInterface({ input: child.stderr! }).on("line", (line) => {
      lines.push(line);
      const listening = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (listening) {
        clearTimeout(timer);
        resolve(listening[1]!);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`llama-server exited before listening: ${lines.slice(-5).join("\n")}`));
    });
  });
  return {
    url,
    pid: child.pid!,
    exited,
    async metric(name) {
      const families = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
      return families.flatMap((family) => family.samples).find((sample) => sample.name === name)?.value ?? 0;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
