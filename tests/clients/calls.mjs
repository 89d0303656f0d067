// What every Node client script of the router's end-to-end tests shares: it reads a spec (JSON,
// the first argument) naming the calls to make, makes them one after another (or all at once
// with "parallel": true) and prints one JSON array on stdout, one result per call:
//   {"ok": <what the call returned>, "started_ms": ..., "finished_ms": ...}   or
//   {"error": <the API's error, as describeError renders it>, "started_ms": ..., ...}
// Times are Unix epoch milliseconds, so the C++ test can order them against its own events.
// An API error is a result, for the test to judge; any other exception (a bug here) ends the
// script with a non-zero exit and the stack on stderr.

// `makeClient(spec)` builds the client once; `runCall(client, call)` makes one call;
// `describeError(e)` returns the error's JSON form, or undefined for an exception that is no
// API error.
export async function runCalls(makeClient, runCall, describeError) {
  const spec = JSON.parse(process.argv[2]);
  const client = makeClient(spec);
  const one = async (call) => {
    const started_ms = Date.now();
    try {
      const ok = await runCall(client, call);
      return { ok, started_ms, finished_ms: Date.now() };
    } catch (e) {
      const error = describeError(e);
      if (error === undefined) throw e;
      return { error, started_ms, finished_ms: Date.now() };
    }
  };
  let results;
  if (spec.parallel) {
    results = await Promise.all(spec.calls.map(one));
  } else {
    results = [];
    for (const call of spec.calls) results.push(await one(call));
  }
  process.stdout.write(JSON.stringify(results) + '\n');
}
