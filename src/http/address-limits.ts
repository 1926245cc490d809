/**
 * @module http/address-limits
 * Per-client-IP token buckets on logins (`GET /login/:username`, `/auth/login`, `POST /auth/device`:
 * `CHAT_LOGIN_RATE_PER_MIN`, bursts of `CHAT_LOGIN_BURST`) and on WebSocket upgrades
 * (`CHAT_UPGRADE_RATE_PER_MIN`, `CHAT_UPGRADE_BURST`). Over a limit: `429 rate_limited`. A rate of 0
 * turns that limit off. Buckets live in an LRU (lru-cache) of at most `MAX_TRACKED_ADDRESSES` per
 * kind, each forgotten once it would be full again, so memory is bounded whatever the addresses.
 */
import { LRUCache } from 'lru-cache';
import { ChatError } from '../domain/errors.ts';
import type { HttpRequestInfo } from '../transport/types.ts';
import type { Config } from '../config.ts';
import { clientIpResolver, type ClientIp } from './client-ip.ts';

/** Addresses tracked per kind, at most (~100 bytes each). Past it the least recently seen is forgotten. */
export const MAX_TRACKED_ADDRESSES = 100_000;

export type LimitKind = 'login' | 'upgrade';

interface Bucket {
  tokens: number;
  at: number;
}

export interface AddressRate {
  perMinute: number;
  burst: number;
}

class AddressBuckets {
  private readonly buckets: LRUCache<string, Bucket>;
  private readonly perMs: number;

  constructor(
    private readonly rate: AddressRate,
    private readonly now: () => number,
  ) {
    this.perMs = rate.perMinute / 60_000;
    // A bucket left alone this long is full again: forgetting it changes nothing.
    const refillMs = Math.ceil(rate.burst / Math.max(this.perMs, Number.MIN_VALUE));
    this.buckets = new LRUCache({ max: MAX_TRACKED_ADDRESSES, ttl: Math.min(refillMs, 86_400_000) });
  }

  get size(): number {
    return this.buckets.size;
  }

  take(address: string): boolean {
    const now = this.now();
    const bucket = this.buckets.get(address) ?? { tokens: this.rate.burst, at: now };
    bucket.tokens = Math.min(this.rate.burst, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.set(address, bucket);
    return allowed;
  }
}

export class AddressLimits {
  private readonly kinds: Partial<Record<LimitKind, AddressBuckets>> = {};

  constructor(
    rates: Record<LimitKind, AddressRate>,
    private readonly clientIp: ClientIp,
    private readonly onLimited: (kind: LimitKind) => void = () => {},
    now: () => number = Date.now,
  ) {
    for (const kind of ['login', 'upgrade'] as const) {
      if (rates[kind].perMinute > 0) this.kinds[kind] = new AddressBuckets(rates[kind], now);
    }
  }

  /** Addresses currently tracked for `kind` (a metric). */
  tracked(kind: LimitKind): number {
    return this.kinds[kind]?.size ?? 0;
  }

  /** Takes a token for the request's client address; throws `rate_limited` (429) when it has none left. */
  check(kind: LimitKind, request: Pick<HttpRequestInfo, 'headers' | 'remoteAddress'>): void {
    const buckets = this.kinds[kind];
    if (buckets === undefined || buckets.take(this.clientIp(request))) return;
    this.onLimited(kind);
    throw new ChatError('rate_limited', kind === 'login' ? 'too many logins from this address; try again shortly' : 'too many connections from this address; try again shortly');
  }
}

/** The node's limits from its configuration. */
export function createAddressLimits(config: Readonly<Config>, onLimited: (kind: LimitKind) => void): AddressLimits {
  const { loginPerMinute, loginBurst, upgradePerMinute, upgradeBurst } = config.limits;
  return new AddressLimits(
    { login: { perMinute: loginPerMinute, burst: loginBurst }, upgrade: { perMinute: upgradePerMinute, burst: upgradeBurst } },
    clientIpResolver(config.trustProxy),
    onLimited,
  );
}
