// Where an HTTP subscriber gives its subscribe token: `?token=` (EventSource cannot set headers) or
// `Authorization: Bearer`. Exactly one token: two different ones are a client bug, not a choice to make.
export type Presented = { token: string | undefined } | { ambiguous: string };

export function presentedToken(query: unknown, authorization: string | undefined): Presented {
  if (Array.isArray(query)) return { ambiguous: 'give "token" once' };
  const fromQuery = typeof query === 'string' && query !== '' ? query : undefined;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (fromQuery !== undefined && bearer !== undefined && fromQuery !== bearer) {
    return { ambiguous: 'give the token either as ?token= or as "Authorization: Bearer", not two different ones' };
  }
  return { token: fromQuery ?? bearer };
}
