const percentLine = /^\[\s*(\d{1,3})%\]\s*(.*)$/;

/** Reads `[ 42%] Building CXX object …` from cmake's build output. */
export function parseCMakeProgress(line: string): { percent: number; message: string } | undefined {
  const match = percentLine.exec(line);
  if (!match) return undefined;
  return { percent: Number(match[1]), message: match[2] ?? "" };
}
