/**
 * `GET /logs`: the gateway's recent log lines and its runners' stderr, as
 * text, oldest first. `?follow=1` keeps the response open and sends new
 * lines until the client leaves; `?model=NAME` keeps only that model's
 * runners; `?tail=N` starts with the last N lines.
 */
import { Hono } from "hono";
import * as v from "valibot";
import { normalizeModelReference } from "../models/model-resolver.ts";
import type { LogBuffer, LogLine } from "./log-buffer.ts";

const QuerySchema = v.object({
  follow: v.optional(v.picklist(["1", "true", "0", "false"], "follow must be 1, true, 0 or false")),
  model: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(512))),
  tail: v.optional(v.pipe(v.string(), v.regex(/^\d{1,9}$/, "tail must be a number of lines"))),
});

export function createLogsApp(buffer: LogBuffer): Hono {
  const app = new Hono();
  app.get("/", (c) => {
    const query = v.safeParse(QuerySchema, c.req.query());
    if (!query.success) return c.json({ error: query.issues[0].message }, 400);
    const { follow, model, tail } = query.output;
    const wanted = model === undefined ? () => true : (line: LogLine) => line.runner?.model === normalizeModelReference(model);
    const past = buffer.lines().filter(wanted);
    const shown = tail === undefined ? past : past.slice(Math.max(0, past.length - Number(tail)));
    const headers = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" };
    if (follow !== "1" && follow !== "true") return c.body(shown.map(logText).join(""), 200, headers);

    const encoder = new TextEncoder();
    let stop = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(shown.map(logText).join("")));
        let open = true;
        const close = () => {
          stop();
          if (open) controller.close();
          open = false;
        };
        stop = buffer.follow((line) => wanted(line) && controller.enqueue(encoder.encode(logText(line))), close);
        c.req.raw.signal.addEventListener("abort", close, { once: true });
      },
      cancel: () => stop(),
    });
    return c.body(body, 200, headers);
  });
  return app;
}

/** A runner's line says which runner wrote it; the gateway's are already formatted records. */
function logText(line: LogLine): string {
  if (!line.runner) return `${line.text}\n`;
  return `${line.time.toISOString()} ${line.runner.model} (${line.runner.mode}) | ${line.text}\n`;
}
