/**
 * @module protocol/history
 * Scrollback, independent of the transport: validates a history request (a WebSocket frame, the query
 * of `GET /history`, a Socket.IO `history` event) and answers it with one page of the caller's view of a
 * conversation, from the journal's history window. Pages are cut by id, so paging back while messages
 * arrive neither repeats nor skips one.
 */
import { ChatError, type ErrorCode } from '../domain/errors.ts';
import { isValidUsername } from '../domain/names.ts';
import type { Conversation, ConversationPage } from '../journal/journal.ts';
import { messageFrame } from './server-frames.ts';
import type { HistoryFrame, HistoryRequestFrame } from './wire.ts';

export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 200;

/** A `history` frame's fields (wire.ts); `limit` is clamped to HISTORY_MAX_LIMIT, absent: HISTORY_DEFAULT_LIMIT. */
export type HistoryRequest = Omit<HistoryRequestFrame, 'type'>;

/** Where pages come from: the runtime (and behind it the journal). */
export interface ConversationSource {
  conversation(conversation: Conversation, before: number, limit: number): ConversationPage;
}

type Fields = Record<string, unknown>;

/**
 * Validates the fields of a request given as JSON (frame, Socket.IO event). `code` is what a refusal
 * carries: `invalid_frame` on the WebSocket, `invalid_query` elsewhere. `null` counts as absent.
 */
export function readHistoryRequest(fields: Fields, code: ErrorCode): HistoryRequest {
  const request: HistoryRequest = {};
  const { before, limit } = fields;
  if (before !== undefined && before !== null) {
    if (typeof before !== 'number' || !Number.isSafeInteger(before) || before < 1) {
      throw new ChatError(code, '"before" must be a message id (a positive whole number)');
    }
    request.before = before;
  }
  if (limit !== undefined && limit !== null) {
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1) {
      throw new ChatError(code, '"limit" must be a positive whole number');
    }
    request.limit = Math.min(limit, HISTORY_MAX_LIMIT);
  }
  if (fields.with !== undefined && fields.with !== null) {
    if (!isValidUsername(fields.with)) throw new ChatError(code, '"with" must be a valid user name');
    request.with = fields.with;
  }
  return request;
}

/** Validates the query of `GET /history?before=&limit=&with=`; an empty parameter counts as absent. */
export function parseHistoryQuery(query: URLSearchParams): HistoryRequest {
  const number = (name: 'before' | 'limit'): number | undefined => {
    const raw = query.get(name);
    if (raw === null || raw === '') return undefined;
    if (!/^\d{1,15}$/.test(raw)) throw new ChatError('invalid_query', `"${name}" must be a positive whole number`);
    return Number(raw);
  };
  return readHistoryRequest({ before: number('before'), limit: number('limit'), with: query.get('with') || undefined }, 'invalid_query');
}

/** One page of `user`'s view of the conversation the request names, as the `history` answer. */
export function answerHistory(source: ConversationSource, user: string, request: HistoryRequest): HistoryFrame {
  const conversation: Conversation = request.with === undefined ? { user } : { user, with: request.with };
  const before = request.before ?? Number.MAX_SAFE_INTEGER;
  const page = source.conversation(conversation, before, request.limit ?? HISTORY_DEFAULT_LIMIT);
  const answer: HistoryFrame = { type: 'history', messages: page.messages.map(messageFrame), more: page.more, expired: page.expired };
  if (request.with !== undefined) answer.with = request.with;
  if (request.before !== undefined) answer.before = request.before;
  if (request.cid !== undefined) answer.cid = request.cid;
  return answer;
}
