import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidConfigurationError, validateRuntimeFlags } from "../../src/inference/index.ts";

describe("validateRuntimeFlags", () => {
  it("accepts ordinary flags and values", () => {
    for (const flags of [[], ["--threads", "4"], ["--temp=0.2", "-c", "2048"], ["--flash-attn", "on"], ["--seed", "-1"]]) {
      assert.doesNotThrow(() => validateRuntimeFlags(flags), JSON.stringify(flags));
    }
  });

  const pathCases: Record<string, string[]> = {
    "unix absolute path": ["--log-file", "/var/log/file"],
    "unix absolute path in --flag=value": ["--log-file=/etc/passwd"],
    "unix relative path": ["--log-file", "../file.txt"],
    "unix dot relative path": ["--config", "./config"],
    "windows absolute path": ["--log-file", "C:\\Users\\file"],
    "windows drive path": ["--output-file", "D:\\data\\file"],
    "windows relative path": ["--log-file", "..\\file.txt"],
    "windows dot relative path": ["--x", ".\\config"],
    "UNC path": ["--log-file", "\\\\network\\share\\file"],
    "path in the flag itself": ["--/etc/passwd"],
  };
  for (const [name, flags] of Object.entries(pathCases)) {
    it(`rejects a ${name}`, () => {
      assert.throws(() => validateRuntimeFlags(flags), (error: unknown) =>
        error instanceof InvalidConfigurationError && /paths are not allowed/.test(error.message));
    });
  }

  for (const flag of ["--model", "-m", "--host", "--port", "--embeddings", "--embedding", "--reranking", "--model-draft", "--uds", "--served-model-name"]) {
    it(`rejects the manager-owned flag ${flag}`, () => {
      assert.throws(() => validateRuntimeFlags([flag, "x"]), /set by modelgate/);
      assert.throws(() => validateRuntimeFlags([`${flag}=x`]), /set by modelgate/);
    });
  }

  it("rejects flags that name files even without a slash", () => {
    assert.throws(() => validateRuntimeFlags(["--log-file", "passwd"]), /names a file/);
    assert.throws(() => validateRuntimeFlags(["--slot-save-path=slots"]), /names a file/);
  });

  it("rejects control characters", () => {
    assert.throws(() => validateRuntimeFlags(["--threads", "4\n--model"]), /control characters/);
    assert.throws(() => validateRuntimeFlags(["--x\u0000"]), /control characters/);
  });
});
