/**
 * Everything the end-to-end tests need before they start. Each step is
 * idempotent and cached, so running it again costs milliseconds.
 */
export async function prepareTestEnvironment(): Promise<void> {
  // Filled in as the engine installer and the fixture generator land.
}
