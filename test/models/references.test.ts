import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  InvalidReferenceError,
  isSha256Digest,
  parseModelReference,
  parseNamedReference,
  parseNewModelName,
  withTag,
  type NamedReference,
} from "../../src/models/reference.ts";

const hex64 = "a".repeat(63) + "b";

function named(input: string): NamedReference {
  return parseNamedReference(input);
}

describe("parseNamedReference: normalisation", () => {
  const cases: [input: string, canonical: string, familiar: string][] = [
    // Bare names are Ollama's library; Docker Model Runner's `ai/…` stays on Docker Hub.
    ["tiny", "registry.ollama.ai/library/tiny:latest", "tiny:latest"],
    ["  tiny  ", "registry.ollama.ai/library/tiny:latest", "tiny:latest"],
    ["Tiny", "registry.ollama.ai/library/tiny:latest", "tiny:latest"],
    ["tiny:", "registry.ollama.ai/library/tiny:latest", "tiny:latest"],
    ["tiny:Q4_K_M", "registry.ollama.ai/library/tiny:Q4_K_M", "tiny:Q4_K_M"],
    ["library/tiny", "registry.ollama.ai/library/tiny:latest", "tiny:latest"],
    ["registry.ollama.ai/library/tiny", "registry.ollama.ai/library/tiny:latest", "tiny:latest"],
    ["ollama.com/library/tiny", "registry.ollama.ai/library/tiny:latest", "tiny:latest"],
    ["someone/model", "registry.ollama.ai/someone/model:latest", "someone/model:latest"],
    ["ai/tiny", "docker.io/ai/tiny:latest", "ai/tiny:latest"],
    ["AI/Tiny:V1", "docker.io/ai/tiny:V1", "ai/tiny:V1"],
    ["docker.io/ai/tiny", "docker.io/ai/tiny:latest", "ai/tiny:latest"],
    ["index.docker.io/ai/tiny", "docker.io/ai/tiny:latest", "ai/tiny:latest"],
    ["docker.io/library/tiny", "docker.io/library/tiny:latest", "docker.io/library/tiny:latest"],
    ["myorg/team/model:1.0", "registry.ollama.ai/myorg/team/model:1.0", "myorg/team/model:1.0"],
    ["localhost/model", "localhost/library/model:latest", "localhost/library/model:latest"],
    ["localhost:5000/a/b", "localhost:5000/a/b:latest", "localhost:5000/a/b:latest"],
    ["localhost:5000/a/b:v2", "localhost:5000/a/b:v2", "localhost:5000/a/b:v2"],
    ["127.0.0.1:5000/a/b:v2", "127.0.0.1:5000/a/b:v2", "127.0.0.1:5000/a/b:v2"],
    ["[::1]:5000/a/b", "[::1]:5000/a/b:latest", "[::1]:5000/a/b:latest"],
    ["registry.ollama.ai/library/llama3.2:3b", "registry.ollama.ai/library/llama3.2:3b", "llama3.2:3b"],
    ["hf.co/Org/Repo-GGUF", "huggingface.co/org/repo-gguf:latest", "huggingface.co/org/repo-gguf:latest"],
    ["hf.co/Org/Repo-GGUF:Q8_0", "huggingface.co/org/repo-gguf:Q8_0", "huggingface.co/org/repo-gguf:Q8_0"],
    ["huggingface.co/org/repo:q4_k_m", "huggingface.co/org/repo:q4_k_m", "huggingface.co/org/repo:q4_k_m"],
    ["a__b/c--d/e.f_g", "registry.ollama.ai/a__b/c--d/e.f_g:latest", "a__b/c--d/e.f_g:latest"],
    [`tiny@sha256:${hex64}`, `registry.ollama.ai/library/tiny:latest@sha256:${hex64}`, `tiny:latest@sha256:${hex64}`],
    [`tiny:v1@sha256:${hex64.toUpperCase()}`, `registry.ollama.ai/library/tiny:v1@sha256:${hex64}`, `tiny:v1@sha256:${hex64}`],
  ];
  for (const [input, canonical, familiar] of cases) {
    it(`${JSON.stringify(input)} → ${canonical}`, () => {
      const reference = named(input);
      assert.equal(reference.canonical, canonical);
      assert.equal(String(reference), familiar);
    });
  }

  it("splits registry, repository, tag and digest", () => {
    const reference = named(`localhost:5000/ns/model:v1@sha256:${hex64}`);
    assert.equal(reference.registry, "localhost:5000");
    assert.equal(reference.repository, "ns/model");
    assert.equal(reference.tag, "v1");
    assert.equal(reference.digest, `sha256:${hex64}`);
  });

  it("reads a colon before the last slash as a port, not a tag", () => {
    assert.equal(named("host:5000/model").tag, "latest");
    assert.equal(named("host:5000/model").registry, "host:5000");
  });

  it("withTag swaps the tag and drops the digest", () => {
    assert.equal(withTag(named(`tiny:a@sha256:${hex64}`), "b").canonical, "registry.ollama.ai/library/tiny:b");
  });
});

describe("parseModelReference: IDs", () => {
  it("reads sha256:<64 hex> as an ID only", () => {
    const reference = parseModelReference(`sha256:${hex64}`);
    assert.equal(reference.kind, "id");
    assert.equal(reference.kind === "id" && reference.hex, hex64);
    assert.equal(reference.kind === "id" && reference.name, undefined);
  });

  it("reads 64 and 12 bare hex digits as an ID that is also a name", () => {
    for (const hex of [hex64, "0123456789ab"]) {
      const reference = parseModelReference(hex);
      assert.equal(reference.kind, "id");
      assert.equal(reference.kind === "id" && reference.name?.canonical, `registry.ollama.ai/library/${hex}:latest`);
    }
  });

  it("reads other hex lengths as names", () => {
    assert.equal(parseModelReference("0123456789").kind, "name");
    assert.equal(parseModelReference("deadbeef").kind, "name");
  });

  it("lowercases an uppercase sha256 ID", () => {
    const reference = parseModelReference(`SHA256:${hex64.toUpperCase()}`);
    assert.equal(String(reference), `sha256:${hex64}`);
  });

  it("refuses a short or non-hex sha256 ID", () => {
    assert.throws(() => parseModelReference("sha256:abc"), InvalidReferenceError);
    assert.throws(() => parseModelReference(`sha256:${"g".repeat(64)}`), InvalidReferenceError);
  });

  it("isSha256Digest", () => {
    assert.equal(isSha256Digest(`sha256:${hex64}`), true);
    assert.equal(isSha256Digest(`sha256:${hex64.toUpperCase()}`), false);
    assert.equal(isSha256Digest(`sha512:${hex64}`), false);
    assert.equal(isSha256Digest(hex64), false);
  });
});

describe("parseNamedReference: refusals", () => {
  const refused: [input: string, reason: RegExp][] = [
    ["", /empty/],
    ["   ", /empty/],
    ["../etc/passwd", /relative path/],
    ["a/../b", /relative path/],
    ["a/./b", /relative path/],
    ["..", /relative path/],
    ["a/..:latest", /not a name component|must be/],
    ["/abs/path", /absolute path/],
    ["/", /absolute path/],
    ["a\\b", /backslash/],
    ["..\\..\\windows", /backslash/],
    ["a%2fb", /percent/],
    ["%2e%2e/x", /percent/],
    ["a%00b", /percent/],
    ["a\u0000b", /control/],
    ["a\nb", /control/],
    ["a\u007fb", /control/],
    ["a\tb", /control/],
    ["a b", /must be/],
    ["a//b", /empty path component/],
    ["a/", /empty path component/],
    ["-a", /must be/],
    ["a-", /must be/],
    ["a..b", /must be/],
    ["a___b", /must be/],
    [".hidden", /must be/],
    ["naïve", /must be/],
    ["a:b:c", /not a tag/],
    ["a:.tag", /not a tag/],
    ["a:-tag", /not a tag/],
    ["a:t/ag", /not a registry host/],
    [`a:${"t".repeat(129)}`, /tag is longer/],
    [`${"a".repeat(129)}`, /longer than 128/],
    [`x/${Array.from({ length: 20 }, () => "abcdefghijklm").join("/")}`, /longer than 255/],
    ["a".repeat(2000), /too long/],
    ["a@sha256:abc", /digest/],
    ["a@md5:0123", /digest/],
    ["bad_host.example/x", /not a registry host/],
    ["-host.example/x", /not a registry host/],
    ["host..example/x", /not a registry host/],
  ];
  for (const [input, reason] of refused) {
    it(`refuses ${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input)}`, () => {
      assert.throws(
        () => parseNamedReference(input),
        (error: unknown) => error instanceof InvalidReferenceError && reason.test(error.message),
      );
    });
  }

  it("parseModelReference refuses what parseNamedReference refuses", () => {
    assert.throws(() => parseModelReference("../x"), InvalidReferenceError);
    assert.throws(() => parseModelReference("a\u0000"), InvalidReferenceError);
  });

  it("never yields a component that could leave a directory", () => {
    const inputs = ["a/b", "localhost:1/x/y:z", "hf.co/o/r:Q4_K_M", "x.y/z"];
    for (const input of inputs) {
      for (const component of named(input).repository.split("/")) {
        assert.match(component, /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/);
      }
    }
  });

  it("the error names the reference and keeps long ones short", () => {
    const error = (() => {
      try {
        parseNamedReference(`${"a".repeat(300)}/..`);
      } catch (caught) {
        return caught as InvalidReferenceError;
      }
      return undefined;
    })();
    assert.ok(error instanceof InvalidReferenceError);
    assert.ok(error.message.length < 200);
  });
});

describe("parseNewModelName: names a model may be given (tag, copy, create)", () => {
  it("refuses a digest and ID look-alikes, as Docker does", () => {
    const zeros = "0".repeat(64);
    for (const input of [`tiny:latest@sha256:${zeros}`, `tiny@sha256:${hex64}`, `sha256:${zeros}`, `SHA256:${"A".repeat(64)}`, hex64, "0123456789ab", "0123456789ab:latest"]) {
      assert.throws(() => parseNewModelName(input), InvalidReferenceError, input);
    }
  });

  it("takes ordinary names, hex inside a longer name or under a namespace included", () => {
    for (const input of ["tiny", "tiny:v2", "0123456789abc", "0123456789a", "user/0123456789ab", "localhost:5000/x/y:v1", "sha256x:latest"]) {
      assert.equal(String(parseNewModelName(input)), String(parseNamedReference(input)), input);
    }
  });
});
