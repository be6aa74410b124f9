// The principal this console acts as (GET /api/v1/whoami), fetched once:
// the server records actions under it, whatever the page says.
import { getJSON } from './api';

export interface Principal { token_id?: string; name: string; role: string; tenant: string }

let cached: Promise<Principal> | null = null;

/** The principal of the console's token; anonymous when the server has no governance routes. */
export function whoami(): Promise<Principal> {
  if (!cached) {
    cached = getJSON<Principal>('/api/v1/whoami').catch(() => {
      cached = null;
      return { name: 'anonymous', role: '', tenant: 'default' };
    });
  }
  return cached;
}

/** What the server writes as the actor of an alert action: the name, and the token id when there is one. */
export function actorLabel(p: Principal): string {
  return p.token_id ? `${p.name} (token ${p.token_id})` : p.name;
}
