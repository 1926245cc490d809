/**
 * @module transport/frame-budget
 * What one socket may send: every frame takes a token from the socket's frame bucket (`CHAT_FRAME_RATE_PER_S`,
 * bursts of `CHAT_FRAME_BURST`), and every invalid frame one from its invalid-frame bucket
 * (`CHAT_MAX_INVALID_FRAMES` a minute, bursts of as many). A socket that empties either bucket is closed
 * with 1008 (policy violation) instead of being answered frame by frame. The buckets live in the socket's own
 * user data: no map, nothing to forget.
 */

/** The per-socket fields (part of the gateway's SocketData). */
export interface FrameBudgetState {
  frameTokens: number;
  invalidTokens: number;
  /** When the buckets were last refilled, epoch ms. */
  budgetAt: number;
}

export interface FrameBudgetLimits {
  /** Frames per second; 0 turns the frame budget off. */
  framesPerSecond: number;
  frameBurst: number;
  /** Invalid frames a minute (and the burst); 0 turns the invalid-frame rule off. */
  invalidFramesPerMinute: number;
}

export class FrameBudget {
  constructor(
    private readonly limits: FrameBudgetLimits,
    private readonly now: () => number = Date.now,
  ) {}

  initial(): FrameBudgetState {
    return { frameTokens: this.limits.frameBurst, invalidTokens: this.limits.invalidFramesPerMinute, budgetAt: this.now() };
  }

  /** Takes one frame's token; false once the socket sent more than its budget. */
  takeFrame(state: FrameBudgetState): boolean {
    this.refill(state);
    if (this.limits.framesPerSecond === 0) return true;
    if (state.frameTokens < 1) return false;
    state.frameTokens -= 1;
    return true;
  }

  /** Counts one invalid frame; false once the socket sent more invalid frames than allowed. */
  takeInvalid(state: FrameBudgetState): boolean {
    if (this.limits.invalidFramesPerMinute === 0) return true;
    if (state.invalidTokens < 1) return false;
    state.invalidTokens -= 1;
    return true;
  }

  private refill(state: FrameBudgetState): void {
    const now = this.now();
    const elapsed = now - state.budgetAt;
    if (elapsed <= 0) return;
    state.budgetAt = now;
    const { framesPerSecond, frameBurst, invalidFramesPerMinute } = this.limits;
    state.frameTokens = Math.min(frameBurst, state.frameTokens + (elapsed * framesPerSecond) / 1000);
    state.invalidTokens = Math.min(invalidFramesPerMinute, state.invalidTokens + (elapsed * invalidFramesPerMinute) / 60_000);
  }
}
