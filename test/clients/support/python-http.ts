/**
 * What Open WebUI's Python HTTP libraries demand of a reply, emulated in
 * Node so a replay fails where Open WebUI would. Written from the libraries'
 * documented behaviour (aiohttp 3.x `ClientResponse.json`, `StreamReader`
 * line iteration; requests' `Response.json`; urllib3 2.x request bodies).
 */
import { request as httpRequest } from "node:http";
import { Readable } from "node:stream";

/**
 * aiohttp's `ClientResponse.json()`: refuses a body whose mimetype is not
 * `application/json` (or `application/*+json`) with a ContentTypeError
 * before reading it, whatever the body is; an empty body is `None`.
 */
export async function aiohttpJson(response: Response): Promise<unknown> {
  const mimetype = (response.headers.get("content-type") ?? "application/octet-stream").split(";")[0]!.trim().toLowerCase();
  if (!/^application\/(?:[\w.+-]+?\+)?json/.test(mimetype)) {
    await response.body?.cancel();
    throw new Error(`ContentTypeError: ${response.status}, message='Attempt to decode JSON with unexpected mimetype: ${mimetype}'`);
  }
  const text = (await response.text()).trim();
  return text === "" ? null : pythonJsonLoads(text);
}

/**
 * `async for line in response.content` (aiohttp's StreamReader): lines as
 * they arrive, each with its `\n` (the last may lack one); a line longer
 * than the reader's high-water mark (2 × 2^16 bytes) is a ValueError.
 */
export async function* aiohttpLines(response: Response): AsyncGenerator<string> {
  const highWater = 2 * 2 ** 16;
  let pending = Buffer.alloc(0);
  for await (const chunk of Readable.fromWeb(response.body! as import("node:stream/web").ReadableStream<Uint8Array>)) {
    pending = Buffer.concat([pending, chunk as Buffer]);
    let newline: number;
    while ((newline = pending.indexOf(0x0a)) >= 0) {
      yield pending.subarray(0, newline + 1).toString("utf8");
      pending = pending.subarray(newline + 1);
    }
    if (pending.length > highWater) throw new Error("ValueError: Chunk too big");
  }
  if (pending.length) yield pending.toString("utf8");
}

/** requests' `Response.json()`: no content-type check, the whole text must be one JSON value. */
export async function requestsJson(response: Response): Promise<unknown> {
  return pythonJsonLoads(await response.text());
}

/** `json.loads`: one value, surrounding whitespace allowed, anything after it is "Extra data". */
export function pythonJsonLoads(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`JSONDecodeError: ${(error as Error).message}`);
  }
}

/**
 * `requests.post(url, data=file)`: requests asks to keep the connection
 * alive; urllib3 streams the body and, should the server answer and close
 * before it has read it all, swallows the broken pipe and reads the answer
 * (urllib3 2.x `HTTPConnection.request`). Node destroys the socket at the
 * broken pipe, reading nothing more: an answer not heard by then is lost,
 * and that fails as urllib3 fails when it finds none, never a wait forever.
 */
export function urllib3Post(url: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    let brokenPipe: Error | undefined;
    const headerList = { connection: "keep-alive", "content-length": String(body.byteLength), ...headers };
    const req = httpRequest(url, { method: "POST", agent: false, headers: headerList }, (res) => {
      answered = true;
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, text });
        req.destroy(); // no pool here to return the connection to
      });
      res.on("error", reject);
    });
    const onError = (error: NodeJS.ErrnoException) => {
      if (answered) return; // the socket may report the broken pipe after the answer, when the request no longer listens
      if (error.code === "EPIPE") brokenPipe = error;
      else reject(error);
    };
    req.on("error", onError);
    req.on("socket", (socket) => {
      socket.on("error", onError);
      socket.on("close", () => {
        if (!answered) reject(brokenPipe ?? new Error("the connection closed without an answer"));
      });
    });
    // Written in the chunks requests reads a file in, so an early answer can meet a body still being sent.
    const chunk = 8192;
    for (let offset = 0; offset < body.byteLength; offset += chunk) req.write(body.subarray(offset, offset + chunk));
    req.end();
  });
}
