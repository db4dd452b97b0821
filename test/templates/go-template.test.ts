/**
 * The Go template renderer and Ollama's way of executing prompt templates,
 * with cases ported from Ollama's template/template_test.go (named after
 * the Go tests) and its errors (server/routes_create_test.go
 * TestCreateTemplateSystem).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderPrompt, template } from "../../src/ollama/modelfile-layers.ts";
import { parseGoTemplate, TemplateError } from "../../src/templates/go-template.ts";

const render = (text: string, messages: { role: string; content: string }[], extra: Record<string, unknown> = {}) =>
  renderPrompt(template(text), { messages, tools: undefined, chat_template_kwargs: undefined, reasoning_effort: undefined, suffix: undefined, prompt: undefined, ...extra });

const mistral = {
  "no response": "[INST] {{ if .System }}{{ .System }}\n\n{{ end }}{{ .Prompt }}[/INST] ",
  response: "[INST] {{ if .System }}{{ .System }}\n\n{{ end }}{{ .Prompt }}[/INST] {{ .Response }}",
  messages:
    '[INST] {{ if .System }}{{ .System }}\n\n{{ end }}\n{{- range .Messages }}\n{{- if eq .Role "user" }}{{ .Content }}[/INST] {{ else if eq .Role "assistant" }}{{ .Content }}[INST] {{ end }}\n{{- end }}',
};

describe("TestExecuteWithMessages (Ollama's template_test.go)", () => {
  const conversation = [
    { role: "user", content: "Hello friend!" },
    { role: "assistant", content: "Hello human!" },
    { role: "user", content: "What is your name?" },
  ];
  for (const [name, text] of Object.entries(mistral)) {
    it(`mistral/${name}`, () => {
      assert.equal(render(text, conversation), "[INST] Hello friend![/INST] Hello human![INST] What is your name?[/INST] ");
    });
    it(`mistral system/${name}`, () => {
      assert.equal(
        render(text, [{ role: "system", content: "You are a helpful assistant!" }, ...conversation]),
        "[INST] You are a helpful assistant!\n\nHello friend![/INST] Hello human![INST] What is your name?[/INST] ",
      );
    });
  }

  const assistantLast = [...conversation, { role: "assistant", content: "My name is Ollama and I" }];
  for (const [name, text] of Object.entries({
    "no response": "[INST] {{ .Prompt }}[/INST] ",
    response: "[INST] {{ .Prompt }}[/INST] {{ .Response }}",
    messages: '\n{{- range $i, $m := .Messages }}\n{{- if eq .Role "user" }}[INST] {{ .Content }}[/INST] {{ else if eq .Role "assistant" }}{{ .Content }}{{ end }}\n{{- end }}',
  })) {
    it(`mistral assistant/${name}`, () => {
      assert.equal(render(text, assistantLast), "[INST] Hello friend![/INST] Hello human![INST] What is your name?[/INST] My name is Ollama and I");
    });
  }

  const chatml = [{ role: "system", content: "You are a helpful assistant!" }, ...conversation];
  const expected =
    "<|im_start|>system\nYou are a helpful assistant!<|im_end|>\n<|im_start|>user\nHello friend!<|im_end|>\n<|im_start|>assistant\nHello human!<|im_end|>\n<|im_start|>user\nWhat is your name?<|im_end|>\n<|im_start|>assistant\n";
  it("chatml/response", () => {
    const text = "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}{{ if .Prompt }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n{{ end }}<|im_start|>assistant\n{{ .Response }}<|im_end|>\n";
    assert.equal(render(text, chatml), expected);
  });
  it("chatml/messages", () => {
    const text = "\n{{- range $index, $_ := .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n";
    assert.equal(render(text, chatml), expected);
  });
});

describe("TestExecuteWithSuffix (Ollama's template_test.go)", () => {
  const text = "{{- if .Suffix }}<PRE> {{ .Prompt }} <SUF>{{ .Suffix }} <MID>\n{{- else }}{{ .Prompt }}\n{{- end }}";
  it("message", () => assert.equal(render(text, [{ role: "user", content: "hello" }]), "hello"));
  it("prompt suffix", () => assert.equal(render(text, [], { prompt: "def add(", suffix: "return x" }), "<PRE> def add( <SUF>return x <MID>"));
});

describe("TestCollate (Ollama's template_test.go): consecutive messages of a role are one", () => {
  it("joins them with a blank line, tool results apart", () => {
    const text = "{{ range .Messages }}[{{ .Role }}:{{ .Content }}]{{ end }}";
    const messages = [
      { role: "system", content: "a" },
      { role: "system", content: "b" },
      { role: "user", content: "c" },
      { role: "user", content: "d" },
      { role: "tool", content: "e" },
      { role: "tool", content: "f" },
    ];
    assert.equal(render(text, messages), "[system:a\n\nb][user:c\n\nd][tool:e][tool:f]");
  });
});

describe("TestCreateTemplateSystem (Ollama's routes_create_test.go): templates that do not parse", () => {
  for (const [name, text, words] of [
    ["incomplete template", "{{ .Prompt", /unclosed action/],
    ["template with unclosed if", "{{ if .Prompt }}", /unexpected EOF/],
    ["template with undefined function", "{{ Prompt }}", /function "Prompt" not defined/],
  ] as const) {
    it(name, () => assert.throws(() => parseGoTemplate(text), (error: Error) => error instanceof TemplateError && words.test(error.message)));
  }
});

describe("Go text/template", () => {
  const run = (text: string, data: unknown) => parseGoTemplate(text).render(data);
  it("trims around {{- and -}}, skips comments", () => assert.equal(run("a  {{- /* note */ -}}  b {{- .X }}", { X: "!" }), "ab!"));
  it("ranges with index and value, break and continue, else on empty", () => {
    assert.equal(run("{{ range $i, $v := .L }}{{ if eq $v 2 }}{{ continue }}{{ end }}{{ if eq $v 4 }}{{ break }}{{ end }}{{ $i }}={{ $v }} {{ end }}", { L: [1, 2, 3, 4, 5] }), "0=1 2=3 ");
    assert.equal(run("{{ range .L }}x{{ else }}empty{{ end }}", { L: [] }), "empty");
  });
  it("reads $ from inside a range, and len/slice as Ollama's templates use them for the last message", () => {
    const text = '{{ range $i, $_ := .M }}{{ if eq (len (slice $.M $i)) 1 }}last:{{ . }}{{ end }}{{ end }}';
    assert.equal(run(text, { M: ["a", "b", "c"] }), "last:c");
  });
  it("finds a field by its JSON spelling (.ToolCalls reads tool_calls) and json prints the JSON", () => {
    const text = "{{ range .Messages }}{{ range .ToolCalls }}{{ .Function.Name }}{{ json .Function.Arguments }}{{ end }}{{ end }}";
    assert.equal(run(text, { Messages: [{ tool_calls: [{ function: { name: "f", arguments: { a: 1 } } }] }] }), 'f{"a":1}');
  });
  it("and/or return the deciding operand; with sets the dot; variables assign", () => {
    assert.equal(run("{{ or .A .B }} {{ and .A .B }} {{ with .C }}{{ .D }}{{ end }} {{ $x := 1 }}{{ $x = 2 }}{{ $x }}", { A: "", B: "b", C: { D: "d" } }), "b  d 2");
  });
  it("else if chains end with one {{end}}", () => {
    const text = '{{ if eq .R "a" }}A{{ else if eq .R "b" }}B{{ else }}C{{ end }}.';
    assert.deepEqual(["a", "b", "c"].map((R) => run(text, { R })), ["A.", "B.", "C."]);
  });
  it("knows the variables a template reads (Ollama's Vars)", () => {
    assert.deepEqual([...parseGoTemplate("{{ .System }}{{ range .Messages }}{{ .Content }}{{ end }}").variables].sort(), ["content", "messages", "system"]);
  });
});
