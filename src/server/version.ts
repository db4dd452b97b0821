import { readFileSync } from "node:fs";
import { join } from "node:path";
import { installDirectory } from "../utilities/install-directory.ts";

/** This installation's version, from its package.json: what `modelgate version` reports for client and server. */
export const modelgateVersion: string = (JSON.parse(readFileSync(join(installDirectory, "package.json"), "utf8")) as { version: string }).version;

/** The header on `/api/version` replies that names the server's own version (the body holds the Ollama API's). */
export const ModelgateVersionHeader = "X-Modelgate-Version";
