/**
 * @module transport/reply
 * Small builders for JSON replies and the protocol's error shape.
 */
import { ChatError, errorBody } from '../domain/errors.ts';
import type { HttpReply } from './types.ts';

export function jsonReply(status: number, body: unknown, headers: Record<string, string | string[]> = {}): HttpReply {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

export function errorReply(error: ChatError): HttpReply {
  const headers: Record<string, string> = error.status === 401 ? { 'www-authenticate': 'Bearer' } : {};
  return jsonReply(error.status, errorBody(error.code, error.message), headers);
}
