/**
 * @module runtime/supervisor-host
 * What both runtimes read the same way from their supervisor actor and their history window: the folded
 * state, the users by actor state, a user's actor, a page of missed messages or of a conversation.
 */
import type { ChatState } from '../domain/state.ts';
import type { Conversation, ConversationPage, HistoryPage } from '../journal/journal.ts';
import { userActorOf } from '../machines/supervisor-types.ts';
import type { SupervisorActor } from './supervisor-actor.ts';

/** Where messages are kept for resume and scrollback: the journal (one node) or a window filled from the log. */
export interface MessageSource {
  history(after: number, limit?: number): HistoryPage;
  conversation(conversation: Conversation, before: number, limit: number): ConversationPage;
}

export abstract class SupervisorHost {
  protected abstract readonly actor: SupervisorActor;
  protected abstract readonly messages: MessageSource;

  /** The folded state. Read-only for everyone but the supervisor. */
  get state(): Readonly<ChatState> {
    return this.actor.getSnapshot().context.chat;
  }

  /** The supervisor failed (an effect threw, e.g. a journal append): it is stopped and records nothing more. */
  get failed(): boolean {
    return this.actor.getSnapshot().status === 'error';
  }

  history(after: number, limit?: number): HistoryPage {
    return this.messages.history(after, limit);
  }

  /** One page of a conversation's scrollback, from the history window. */
  conversation(conversation: Conversation, before: number, limit: number): ConversationPage {
    return this.messages.conversation(conversation, before, limit);
  }

  /** Users by actor state, for metrics: listed ones from the presence list, the rest are connecting. */
  usersByState(): { online: number; grace: number; connecting: number } {
    const { chat, placement } = this.actor.getSnapshot().context;
    const listed = chat.presence.size;
    return { online: chat.online, grace: listed - chat.online, connecting: Math.max(0, placement.size - listed) };
  }

  /** Live user actors (connecting, online or grace); for metrics and tests. */
  get liveActors(): number {
    return this.actor.getSnapshot().context.placement.size;
  }

  /** The status of a user's actor (its state value), or undefined when it has none. */
  userActorState(user: string): string | undefined {
    const child = userActorOf(this.actor.getSnapshot(), user);
    return child ? String(child.getSnapshot().value) : undefined;
  }
}
