/**
 * An engine's event stream (its reply's bytes) through a dialect's
 * translator, chunk by chunk: each piece the translator completes is
 * handed on as soon as it is whole, with no stream or promise per chunk.
 * Streamed, the pieces are written (`streamReply`); whole, they are read
 * as they come (`readPieces`).
 */
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import type { ReplyTranslation } from "../http/stream-reply.ts";

/** What turns an engine's event stream into a dialect's pieces: text in (cut anywhere), pieces out. */
export interface EventStreamTranslator<Piece> {
  push(text: string): Piece[];
  /** The upstream ended; `failure` says why, when it broke. */
  end(failure?: string): Piece[];
}

/** A last piece that waits for more work (Ollama's `context`, counted by the engine's tokenizer). */
export interface FinalPiece<Piece> {
  /** Sees each piece as it passes; true holds it back: it is the final one. */
  holds(piece: Piece): boolean;
  finish(held: Piece): Promise<Piece>;
}

/** Pieces as they complete, to `emit`; the final one, when held, at the end. */
export interface PieceTranslation<Piece> {
  push(chunk: Buffer, emit: (piece: Piece) => void): void;
  end(emit: (piece: Piece) => void, failure?: Error): void | Promise<void>;
}

export function pieceTranslation<Piece>(translator: EventStreamTranslator<Piece>, final?: FinalPiece<Piece>): PieceTranslation<Piece> {
  // Keeps a character cut between chunks whole; a third of TextDecoder's cost per chunk.
  const decoder = new StringDecoder("utf8");
  let held: Piece | undefined;
  const pass = (pieces: Piece[], emit: (piece: Piece) => void) => {
    for (const piece of pieces) {
      if (final?.holds(piece)) held = piece;
      else emit(piece);
    }
  };
  return {
    push: (chunk, emit) => pass(translator.push(decoder.write(chunk)), emit),
    end(emit, failure) {
      pass(translator.push(decoder.end()), emit);
      pass(translator.end(failure?.message), emit);
      if (final && held !== undefined) return final.finish(held).then(emit);
    },
  };
}

/** The pieces written as bytes, for `streamReply`. */
export function encodedTranslation<Piece>(pieces: PieceTranslation<Piece>, encode: (piece: Piece) => Uint8Array): ReplyTranslation {
  return {
    push: (chunk, write) => pieces.push(chunk, (piece) => write(encode(piece))),
    end: (write, failure) => pieces.end((piece) => write(encode(piece)), failure),
  };
}

/**
 * A whole reply (`stream: false`) read through the translation: each piece
 * handed to `take` as it completes, none kept here (a translator that folds
 * the reply itself needs no `take`); a body that breaks ends it with the
 * translator's last words.
 */
export async function readPieces<Piece>(body: Readable, pieces: PieceTranslation<Piece>, take: (piece: Piece) => void = () => {}): Promise<void> {
  try {
    for await (const chunk of body) pieces.push(chunk as Buffer, take);
  } catch (error) {
    return pieces.end(take, error instanceof Error ? error : new Error(String(error)));
  }
  return pieces.end(take);
}

/** Every piece of a whole reply, for a caller that reads them all together. */
export async function collectPieces<Piece>(body: Readable, pieces: PieceTranslation<Piece>): Promise<Piece[]> {
  const all: Piece[] = [];
  await readPieces(body, pieces, (piece) => void all.push(piece));
  return all;
}
