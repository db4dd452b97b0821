/**
 * `modelgate create NAME -f FILE.gguf|Modelfile`, the way `ollama create`
 * does it: a GGUF file's blob is uploaded to the running server (streamed,
 * skipped when the server already holds it), then `POST /api/create` names a
 * model with it. A Modelfile (what `/api/show` prints) says the rest: its
 * FROM is a GGUF file (uploaded likewise) or a model's name.
 */
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import { parseModelfile } from "../models/modelfile.ts";
import { Readable, Transform } from "node:stream";
import { sha256File, shortDigest, type Sha256Digest } from "../models/store/digest.ts";
import { expectPositionals, parseCommandArgs, UsageError, type Command } from "./command.ts";
import { followProgress, withProgressView, type Progress } from "./progress-lines.ts";
import { serverClient, type ServerClient } from "./server-client.ts";

export const createCommand: Command = {
  help: `Usage: modelgate create NAME -f FILE.gguf|Modelfile

Uploads FILE.gguf to the running server and creates the model NAME from it;
or creates NAME as a Modelfile says (FROM a GGUF file or a model, TEMPLATE,
SYSTEM, PARAMETER, MESSAGE, LICENSE), such as \`modelgate show --modelfile\` prints.
The server is found at MODELGATE_HOST (or OLLAMA_HOST), default 127.0.0.1:11434.

Options:
  -f, --file FILE   the GGUF file or Modelfile (required)
  -h, --help        show this help`,

  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { file: { type: "string", short: "f" } });
    const [name] = expectPositionals(positionals, ["NAME"]);
    if (!values.file) throw new UsageError("-f FILE.gguf is required");
    const file = values.file;

    const modelfile = file.toLowerCase().endsWith(".gguf") ? undefined : parseModelfile(await readText(file));
    const weights = modelfile ? localWeights(modelfile.from, dirname(file)) : file;
    const size = weights === undefined ? undefined : (await stat(weights).catch(cannotRead(weights))).size;
    const server = serverClient();
    await server.call("/api/version"); // no server: say so before hashing a large file
    await withProgressView(async ({ show }) => {
      let source: Record<string, unknown> = { from: modelfile?.from };
      if (weights !== undefined && size !== undefined) {
        show({ status: `hashing ${weights}` });
        const { digest } = await sha256File(weights);
        await uploadBlob(server, weights, digest, size, show);
        // A blob path (what show prints) has no extension; the server names GGUF files by theirs.
        const fileName = basename(weights).toLowerCase().endsWith(".gguf") ? basename(weights) : "model.gguf";
        source = { files: { [fileName]: digest } };
      }
      const extras = modelfile && {
        template: modelfile.template,
        system: modelfile.system,
        parameters: modelfile.parameters,
        messages: modelfile.messages,
        license: modelfile.licenses,
      };
      const create = await server.post("/api/create", { model: name, ...source, ...extras, stream: true });
      await followProgress(create, show);
    });
  },
};

async function readText(file: string): Promise<string> {
  return readFile(file, "utf8").catch(cannotRead(file));
}

/** Rejects with the CLI's sentence for a file the user named that cannot be read. */
function cannotRead(file: string): (error: Error) => never {
  return (error) => {
    throw new Error(`cannot read ${file}: ${error.message}`);
  };
}

/** A Modelfile's FROM names a file when it is a path (`./x.gguf`, `/blobs/…`), else a model. */
function localWeights(from: string, dir: string): string | undefined {
  if (!isAbsolute(from) && !from.startsWith("./") && !from.startsWith("../") && !from.toLowerCase().endsWith(".gguf")) return undefined;
  return isAbsolute(from) ? from : resolve(dir, from);
}

async function uploadBlob(server: ServerClient, file: string, digest: Sha256Digest, size: number, print: (progress: Progress) => void) {
  if ((await server.send(`/api/blobs/${digest}`, { method: "HEAD" })).status === 200) {
    print({ status: `using existing blob ${shortDigest(digest)}` });
    return;
  }
  const status = `uploading ${shortDigest(digest)}`;
  let completed = 0;
  const counted = createReadStream(file).pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        completed += chunk.byteLength;
        print({ status, total: size, completed });
        done(null, chunk);
      },
    }),
  );
  print({ status, total: size, completed });
  await server.call(`/api/blobs/${digest}`, { method: "POST", body: Readable.toWeb(counted) as ReadableStream, duplex: "half" });
}
