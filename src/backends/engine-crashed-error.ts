/** How an engine process ended. */
export interface EngineExit {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface EngineCrashedErrorInit extends EngineExit {
  readonly engine: string;
  /** A readable first line naming the likely cause, when one was recognised. */
  readonly diagnosis?: string;
  /** The last lines the engine wrote (stderr, and stdout where it was read). */
  readonly stderrTail: readonly string[];
}

/**
 * An engine process exited without being asked to: a crash, a failed model
 * load, a bad flag. The message opens with what happened, in words, and ends
 * with the engine's last output lines.
 */
export class EngineCrashedError extends Error {
  override readonly name = "EngineCrashedError";
  readonly engine: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly diagnosis: string | undefined;
  readonly stderrTail: readonly string[];

  constructor(init: EngineCrashedErrorInit) {
    const how = init.signal ? `was killed by ${init.signal}` : `exited with code ${init.exitCode}`;
    const headline = init.diagnosis ? `${init.engine}: ${init.diagnosis} (it ${how})` : `${init.engine} ${how}`;
    const tail = init.stderrTail.length ? `\n--- last output lines ---\n${init.stderrTail.join("\n")}` : "";
    super(headline + tail);
    this.engine = init.engine;
    this.exitCode = init.exitCode;
    this.signal = init.signal;
    this.diagnosis = init.diagnosis;
    this.stderrTail = init.stderrTail;
  }
}
