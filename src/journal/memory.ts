/**
 * @module journal/memory
 * The embedded default journal: events in memory, bounded. When it holds more than
 * `maxEvents`, the oldest half is folded into a checkpoint state, so a rebuild is
 * checkpoint + tail and memory stays bounded however long the node runs.
 */
import { isMessageEvent, type DomainEvent } from '../domain/events.ts';
import { createChatState, evolve, replay, type ChatState } from '../domain/state.ts';
import { cloneState } from '../domain/snapshot.ts';
import { MessageWindow } from './history.ts';
import type { Conversation, ConversationPage, HistoryLimits, HistoryPage, Journal } from './journal.ts';

export interface MemoryJournalOptions extends HistoryLimits {
  maxEvents: number;
  now?: () => number;
}

export class MemoryJournal implements Journal {
  private events: DomainEvent[] = [];
  private readonly checkpoint: ChatState = createChatState();
  private readonly window: MessageWindow;

  constructor(private readonly options: MemoryJournalOptions) {
    this.window = new MessageWindow(options, options.now);
  }

  get size(): number {
    return this.events.length;
  }

  append(event: DomainEvent): void {
    this.events.push(event);
    if (isMessageEvent(event)) this.window.push(event);
    if (this.events.length > this.options.maxEvents) this.foldOldestHalf();
  }

  rebuild(): ChatState {
    return replay(this.events, cloneState(this.checkpoint));
  }

  history(after: number, limit?: number): HistoryPage {
    return this.window.page(after, limit);
  }

  conversation(conversation: Conversation, before: number, limit: number): ConversationPage {
    return this.window.conversation(conversation, before, limit);
  }

  async close(): Promise<void> {}

  private foldOldestHalf(): void {
    const cut = this.events.length >>> 1;
    for (let i = 0; i < cut; i++) evolve(this.checkpoint, this.events[i]!);
    this.events = this.events.slice(cut);
  }
}
