/**
 * @module http/client-ip
 * The client's IP address for per-address limits: the socket's peer address, unless that peer is
 * one of the proxies named in `CHAT_TRUST_PROXY` (IPs, CIDRs, or proxy-addr's `loopback`,
 * `linklocal`, `uniquelocal`), in which case the `X-Forwarded-For` chain is walked back to the
 * first address that is not a trusted proxy (proxy-addr does the parsing and matching).
 */
import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';
import type { HttpRequestInfo } from '../transport/types.ts';

export type ClientIp = (request: Pick<HttpRequestInfo, 'headers' | 'remoteAddress'>) => string;

export function clientIpResolver(trustProxy: readonly string[]): ClientIp {
  if (trustProxy.length === 0) return (request) => request.remoteAddress;
  const trusted = proxyAddr.compile([...trustProxy]);
  return (request) => {
    // proxy-addr reads only these two fields of a Node request.
    const forwarded = request.headers['x-forwarded-for'];
    const like = { headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded }, socket: { remoteAddress: request.remoteAddress } };
    return proxyAddr(like as unknown as IncomingMessage, trusted);
  };
}

/** Checks a `CHAT_TRUST_PROXY` list; the error message names the bad entry. */
export function checkTrustProxy(trustProxy: readonly string[]): void {
  proxyAddr.compile([...trustProxy]);
}
