// The little the web app needs from a logger (wiring adapts Powertools' Logger to it).
export interface WebLogger {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

export const consoleLogger: WebLogger = {
  info: (message, details) => console.info(JSON.stringify({ level: 'INFO', message, ...details })),
  warn: (message, details) => console.warn(JSON.stringify({ level: 'WARN', message, ...details })),
  error: (message, details) => console.error(JSON.stringify({ level: 'ERROR', message, ...details })),
};

/** Any logger with Powertools' shape: message first, then one object of attributes. */
export function webLoggerFrom(logger: {
  info(message: string, ...extra: never[]): void;
  warn(message: string, ...extra: never[]): void;
  error(message: string, ...extra: never[]): void;
}): WebLogger {
  // Powertools types its attribute values narrower than `unknown`; ours are plain JSON data.
  const pass = (details: Record<string, unknown> | undefined) => [details ?? {}] as never[];
  return {
    info: (message, details) => logger.info(message, ...pass(details)),
    warn: (message, details) => logger.warn(message, ...pass(details)),
    error: (message, details) => logger.error(message, ...pass(details)),
  };
}
