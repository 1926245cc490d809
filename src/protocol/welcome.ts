/**
 * @module protocol/welcome
 * The welcome frame's first page of the presence list, encoded once and reused by every welcome
 * until a presence change can alter it. In a login storm most joins sort after the first page, so
 * a welcome costs a short string concatenation instead of a walk of the list and a JSON encoding of
 * up to `CHAT_WELCOME_USERS` entries.
 */
import { listUsers, type ChatState } from '../domain/state.ts';

interface CachedPage {
  /** The `users` array, as JSON. */
  json: string;
  count: number;
  /** The last name on the page (the `next` cursor when the list goes on). */
  last: string | null;
  /** The page holds `limit` users: changes to names sorting after `last` cannot alter it. */
  full: boolean;
}

export class WelcomeEncoder {
  private page: CachedPage | undefined;

  constructor(private readonly limit: number) {}

  /** Call for every presence change of `user` (after it was applied to the state). */
  changed(user: string): void {
    const page = this.page;
    if (page !== undefined && (!page.full || page.last === null || user <= page.last)) this.page = undefined;
  }

  encode(state: ChatState, user: string, seq: number, oldest: number): string {
    const page = (this.page ??= this.firstPage(state));
    const total = state.presence.size;
    const truncated = total > page.count;
    return (
      `{"type":"welcome","user":${JSON.stringify(user)},"seq":${seq},"oldest":${oldest},"online":${state.online},` +
      `"total":${total},"users":${page.json},"truncated":${truncated},"next":${truncated ? JSON.stringify(page.last) : 'null'}}`
    );
  }

  private firstPage(state: ChatState): CachedPage {
    const { users } = listUsers(state, undefined, this.limit);
    return { json: JSON.stringify(users), count: users.length, last: users.at(-1)?.name ?? null, full: users.length === this.limit };
  }
}
