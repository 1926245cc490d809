// TEMPORARY (not committed): starts the throwaway mock until the real node's starter exists.
export interface RunningNode { url: string; close(): Promise<void> }
export async function startNode(opts: { graceMs: number; staticRoot: string }): Promise<RunningNode> {
  const mod = (await import('/tmp/mock/server.mjs' as string)) as { startMock(o: object): Promise<{ port: number; close(): Promise<void> }> };
  const s = await mod.startMock({ graceMs: opts.graceMs, root: opts.staticRoot });
  return { url: `http://127.0.0.1:${s.port}`, close: () => s.close() };
}
