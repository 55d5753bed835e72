/** The shape of a dynamic reservation, shared by the ledger and its pure helpers. */
import type { Resources } from '@agora/common';

export interface DynamicReservation {
  role: string;
  principal: string | undefined;
  labels: ReadonlyArray<{ key: string; value?: string | null }>;
  /**
   * The reserved resources: every entry's role is `role`, and every entry carries `principal` and `labels` as
   * its reservation identity in the algebra (none when both are absent).
   */
  resources: Resources;
}
