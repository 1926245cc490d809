/**
 * @module protocol/json
 * The one JSON-object parser: a frame or a JSON body must be one object, never an array, string or null.
 * Used by the node's frame parser, the console client and the web client; no imports, so the browser
 * build can use it too.
 */

export type JsonObject = Record<string, unknown>;

export type JsonObjectResult =
  | { ok: true; value: JsonObject }
  /** `not_json`: the text does not parse (`cause` is the SyntaxError); `not_object`: it holds something else. */
  | { ok: false; reason: 'not_json' | 'not_object'; cause?: unknown };

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses `text` as one JSON object; never throws. */
export function parseJsonObject(text: string): JsonObjectResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: 'not_json', cause: error };
  }
  return isJsonObject(value) ? { ok: true, value } : { ok: false, reason: 'not_object' };
}

/** The string fields of the node's error body `{"error":{"code","message"}}` (docs/protocol.md); none when it is not one. */
export function errorBodyOf(text: string): { code?: string; message?: string } {
  const parsed = parseJsonObject(text);
  const error = parsed.ok ? parsed.value.error : undefined;
  if (!isJsonObject(error)) return {};
  const { code, message } = error;
  return { ...(typeof code === 'string' ? { code } : {}), ...(typeof message === 'string' ? { message } : {}) };
}
