// Logger and metrics for every handler: Powertools, one service name, built once.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * One attempt (forward or resend) that the smart host refused on its settings: login
 * required or refused, TLS not as configured. The stack alarms on it within minutes.
 */
export const SMART_HOST_CONFIGURATION_FAULT_METRIC = 'SmartHostConfigurationFaults';

export interface Observability {
  logger: Logger;
  metrics: Metrics;
}

export function createObservability(serviceName: string): Observability {
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: 'shadowmail', serviceName }),
  };
}

export { MetricUnit };
