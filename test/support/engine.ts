import { describeInstallProgress, ensureLlamaServer } from "../../src/backends/llamacpp/install.ts";

/**
 * The llama-server binary the end-to-end tests run: found or made once
 * (the gateway's own provisioning), then cached. Build progress
 * goes to stderr so a long first run does not look hung.
 */
export async function llamaServerForTests(): Promise<string> {
  const server = await ensureLlamaServer({
    onProgress: (progress) => process.stderr.write(`${describeInstallProgress(progress)}\n`),
  });
  return server.path;
}
