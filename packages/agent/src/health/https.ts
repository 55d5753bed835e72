/** HTTPS health probe: as the HTTP probe, over TLS, without verifying the certificate (Mesos uses `curl -k`). */
import { type HttpProbeOptions, requestProbe } from './http.js';
import type { Probe } from './probe.js';

export function httpsProbe(options: HttpProbeOptions): Probe {
  return requestProbe('https', options);
}
