/** `extra` of the network workload (src/workloads/network.ts): the environment check and the probes that failed. */
import { environmentExtra, metricFailuresExtra, type ExtraSchemas } from './common.js';

export const networkExtras = {
  environment: environmentExtra,
  metricFailures: metricFailuresExtra,
} as const satisfies ExtraSchemas;
