import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createRemotePolicy, RemoteRefusedError } from "../../src/models/remote-policy.ts";

const url = (text: string) => new URL(text);
const publicRegistry = url("https://registry.example.com/v2/x/y");
const loopbackRegistry = url("http://127.0.0.1:5000/v2/x/y");

describe("remote policy: token realms, redirects and upload locations get the registry's own checks", () => {
  const policy = createRemotePolicy();

  it("refuses any scheme but http(s)", () => {
    for (const target of ["file:///etc/passwd", "ftp://cdn.example.com/blob", "gopher://127.0.0.1:6379/_", "data:text/plain,x", "javascript:alert(1)"]) {
      assert.throws(() => policy.checkFollowUp(url(target), publicRegistry, "redirect"), RemoteRefusedError, target);
    }
  });

  it("refuses plain HTTP after an https registry (no downgrade)", () => {
    assert.throws(() => policy.checkFollowUp(url("http://auth.example.com/token"), publicRegistry, "token server"), /to plain HTTP/);
    policy.checkFollowUp(url("https://auth.example.com/token"), publicRegistry, "token server");
  });

  it("refuses a public registry's step into this machine or a private network, names and literals alike", () => {
    for (const target of [
      "https://127.0.0.1:8080/admin",
      "https://localhost/token",
      "https://metadata.internal/",
      "https://169.254.169.254/latest/meta-data/",
      "https://10.0.0.5/",
      "https://[::1]/",
      "https://[::ffff:127.0.0.1]/",
      "https://2130706433/", // 127.0.0.1, as a number
      "https://[fd00::1]/",
    ]) {
      assert.throws(() => policy.checkFollowUp(url(target), publicRegistry, "redirect"), /to a local address/, target);
    }
  });

  it("lets a loopback registry (a local mirror, the tests') point at loopback hosts", () => {
    policy.checkFollowUp(url("http://127.0.0.1:5001/token"), loopbackRegistry, "token server");
    policy.checkFollowUp(url("https://cdn.example.com/blob"), loopbackRegistry, "redirect");
  });

  it("with MODELGATE_ALLOWED_REGISTRIES, contacts only the listed hosts: host (any port), host:port, *.domain", () => {
    const closed = createRemotePolicy({ allowedHosts: ["registry.ollama.ai", "localhost:5000", "*.r2.cloudflarestorage.com"] });
    closed.checkRegistry(url("https://registry.ollama.ai"));
    closed.checkRegistry(url("http://localhost:5000"));
    assert.throws(() => closed.checkRegistry(url("http://localhost:5001")), /not in MODELGATE_ALLOWED_REGISTRIES/);
    assert.throws(() => closed.checkRegistry(url("https://docker.io")), RemoteRefusedError);
    const ollama = url("https://registry.ollama.ai/v2/library/x");
    closed.checkFollowUp(url("https://abc.r2.cloudflarestorage.com/blob"), ollama, "redirect");
    assert.throws(() => closed.checkFollowUp(url("https://r2.cloudflarestorage.com.evil.example/"), ollama, "redirect"), /not in MODELGATE_ALLOWED_REGISTRIES/);
    assert.throws(() => closed.checkFollowUp(url("https://ollama.com/token"), ollama, "token server"), /token server to ollama\.com/);
  });
});
