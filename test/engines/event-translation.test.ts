/**
 * The engine's bytes through a translator, chunk by chunk (`pieceTranslation`)
 * and whole (`readPieces`, `collectPieces`): characters cut between chunks
 * arrive whole, a body that breaks ends with the translator's last words.
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { collectPieces, pieceTranslation, readPieces, type EventStreamTranslator } from "../../src/engines/event-translation.ts";

/** Hands on the text it is given, and at the end why the stream ended. */
function echo(): EventStreamTranslator<string> {
  return { push: (text) => (text ? [text] : []), end: (failure) => [`end: ${failure ?? "complete"}`] };
}

describe("an engine's bytes through a translator", () => {
  test("every character cut between chunks, one byte at a time, arrives whole", async () => {
    const text = 'data: {"content":"ünï ✓ 😀 末"}\n\n';
    const bytes = Buffer.from(text);
    const pieces: string[] = [];
    const translation = pieceTranslation(echo());
    for (let at = 0; at < bytes.length; at++) translation.push(bytes.subarray(at, at + 1), (piece) => pieces.push(piece));
    await translation.end((piece) => pieces.push(piece));
    assert.equal(pieces.slice(0, -1).join(""), text);
    assert.ok(!pieces.join("").includes("\uFFFD"), "no character was replaced");
    assert.equal(pieces.at(-1), "end: complete");
  });

  test("a whole reply: every piece as it comes; a body that breaks ends with the translator's words for it", async () => {
    const taken: string[] = [];
    await readPieces(Readable.from([Buffer.from("a"), Buffer.from("b")]), pieceTranslation(echo()), (piece) => taken.push(piece));
    assert.deepEqual(taken, ["a", "b", "end: complete"]);

    const broken = new Readable({ read() {} });
    broken.push(Buffer.from("a"));
    setImmediate(() => broken.destroy(new Error("socket hang up")));
    assert.deepEqual(await collectPieces(broken, pieceTranslation(echo())), ["a", "end: socket hang up"]);
  });
});
