// Test model of the host side of js-compute 3.46's client request (`event.request`). Its headers live
// on a host handle as the client sent them. Once JS has read them, changes reach that handle only as
// set/append when the runtime commits the request (RequestOrResponse::commit_headers ->
// host_api::write_headers), so a header deleted then stays on the handle; createFanoutHandoff sends
// the handle. (A delete before any read goes straight to the handle; the model takes the worse case.)
// A Request built in JS gets a fresh handle filled from its JS headers.

const sentByClient = new WeakMap<Request, Array<[string, string]>>();

/** A Request standing for `event.request`: its handle keeps the headers it arrived with. */
export function downstreamRequest(url: string, init: RequestInit = {}): Request {
  const request = new Request(url, init);
  sentByClient.set(request, [...request.headers]);
  return request;
}

/** The headers the host handle of `request` holds once the runtime has committed its JS headers. */
export function committedHeaders(request: Request): Headers {
  const arrived = sentByClient.get(request);
  if (arrived === undefined) return new Headers(request.headers);
  const onHandle = new Headers(arrived);
  const written = new Set<string>();
  request.headers.forEach((value, name) => {
    if (written.has(name)) onHandle.append(name, value);
    else onHandle.set(name, value);
    written.add(name);
  });
  return onHandle;
}
