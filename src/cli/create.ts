/**
 * `modelgate create NAME -f FILE.gguf`, the way `ollama create` does it: the
 * file's blob is uploaded to the running server (streamed, skipped when the
 * server already holds it), then `POST /api/create` names a model with it.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { Readable, Transform } from "node:stream";
import { sha256File, shortDigest, type Sha256Digest } from "../models/store/digest.ts";
import { expectPositionals, parseCommandArgs, UsageError, type Command } from "./command.ts";
import { followProgress, withProgressView, type Progress } from "./progress-lines.ts";
import { serverClient, type ServerClient } from "./server-client.ts";

export const createCommand: Command = {
  help: `Usage: modelgate create NAME -f FILE.gguf

Uploads FILE.gguf to the running server and creates the model NAME from it.
The server is found at MODELGATE_HOST (or OLLAMA_HOST), default 127.0.0.1:11434.

Options:
  -f, --file FILE   the GGUF file (required)
  -h, --help        show this help`,

  async run(args) {
    const { values, positionals } = parseCommandArgs(args, { file: { type: "string", short: "f" } });
    const [name] = expectPositionals(positionals, ["NAME"]);
    if (!values.file) throw new UsageError("-f FILE.gguf is required");
    const file = values.file;

    const size = await stat(file).then(
      (info) => info.size,
      (error: Error) => Promise.reject(new Error(`cannot read ${file}: ${error.message}`)),
    );
    const server = serverClient();
    await server.call("/api/version"); // no server: say so before hashing a large file
    await withProgressView(async ({ show }) => {
      show({ status: `hashing ${file}` });
      const digest = await sha256File(file);
      await uploadBlob(server, file, digest, size, show);
      const create = await server.post("/api/create", { model: name, files: { [basename(file)]: digest }, stream: true });
      await followProgress(create, show);
    });
  },
};

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
