/** A system prompt, then 40 turns of a user and an answer, then the question: far beyond a 256-token context. */
export const longChat = [
  { role: "system", content: "You are a terse assistant." },
  ...Array.from({ length: 40 }, (_, turn) => [
    { role: "user", content: `Turn ${turn}: tell me something about the number ${turn} and the weather on that day, in a few words.` },
    { role: "assistant", content: `On day ${turn} the sky was grey, the wind came from the west and ${turn} birds sang on the roof.` },
  ]).flat(),
  { role: "user", content: "And what did I ask first?" },
];
