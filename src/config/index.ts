export { ConfigError, type ConfigIssue } from './config-error';
export { DEFAULTS, LOG_LEVELS, type LogLevel } from './defaults';
export type { GatewayConfig, HostPort, UpstreamConfig } from './gateway-config';
export { loadConfig, parseConfig } from './load-config';
export { configSchema } from './schema';
export { parseToolCatalog, readToolCatalog, type McpPromptDefinition, type McpToolCatalog, type McpToolDefinition } from './tool-catalog';
export type { IdentityRule } from '../identity/identity-rule';
