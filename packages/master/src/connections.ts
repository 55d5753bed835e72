/** What agent and framework records share: a live connection and the activity flags that follow it. */
export interface ConnectedRecord {
  channel: { close(code: number, reason: string): void } | undefined;
  connected: boolean;
  active: boolean;
}

/** Close every record's connection with `code`/`reason` and mark it disconnected and inactive. */
export function closeConnections(records: Iterable<ConnectedRecord>, code: number, reason: string): void {
  for (const record of records) {
    const channel = record.channel;
    record.channel = undefined;
    record.connected = false;
    record.active = false;
    channel?.close(code, reason);
  }
}
