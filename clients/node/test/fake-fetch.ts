// A fetch that answers from a script and records what it was asked, for the tests that need an
// API answering 429s, 5xx and cut connections on cue.

export interface Recorded {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: unknown;
}

/** One scripted answer: a status and a body (a string as it is, anything else as JSON), or an error fetch throws. */
export type Answer = { status: number; body?: unknown; headers?: Record<string, string> } | Error;

export class FakeFetch {
  readonly requests: Recorded[] = [];
  readonly #answers: Answer[];

  constructor(answers: Answer[]) {
    this.#answers = [...answers];
  }

  readonly fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    this.requests.push({
      method: init.method ?? "GET",
      url: new URL(String(input)),
      headers: Object.fromEntries(new Headers(init.headers).entries()),
      body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
    });
    const answer = this.#answers.shift();
    if (answer === undefined) throw new Error(`no answer scripted for request ${this.requests.length}`);
    if (answer instanceof Error) throw answer;
    const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body ?? "");
    return new Response(text, { status: answer.status, headers: answer.headers ?? {} });
  };
}

/** What fetch throws when the connection fails (undici's shape). */
export function connectionReset(): Error {
  return new TypeError("fetch failed", { cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) });
}

export const ok = (data: unknown, status = 200): Answer => ({ status, body: { status_code: status, data } });
