// The request URL as the host logs it: a subscribe token in the query (`?token=`) is credentials and
// never goes into a log. The edge moves it into a header before the request goes on; the log line is
// written from the downstream request, so it is redacted here.
const SECRET_PARAMS = /([?&](?:token|access_token)=)[^&#]*/gi;

export function redactedUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]');
}
