import { request, type Dispatcher } from "undici";

/**
 * `GET path` on a runner, parsed: undefined when the engine has no such
 * endpoint, answers with an error or with something that is not JSON.
 *
 * @throws the signal's reason once it is aborted
 */
export async function getRunnerJson(dispatcher: Dispatcher, path: string, signal: AbortSignal): Promise<unknown> {
  try {
    const { statusCode, body } = await request(`http://runner${path}`, { dispatcher, signal, headersTimeout: 5_000, bodyTimeout: 5_000 });
    if (statusCode !== 200) {
      await body.dump();
      return undefined;
    }
    return await body.json();
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    return undefined;
  }
}
